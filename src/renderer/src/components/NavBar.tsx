import { useState } from 'react';
import { SECTIONS, useAppStore } from '../state/app-store.js';
import './nav.css';

/** Where the collapsed state is remembered (this browser profile: it is about this screen's width). */
const COLLAPSED_KEY = 'lr.nav.collapsed';

function rememberedCollapsed(): boolean {
  try {
    return localStorage.getItem(COLLAPSED_KEY) === '1';
  } catch {
    return false;
  }
}

/** Two letters that tell the sections apart when the bar is collapsed (Log/Library, Consoles/Cases). */
function initials(label: string): string {
  return label.slice(0, 2);
}

export function NavBar() {
  const section = useAppStore((state) => state.section);
  const showSection = useAppStore((state) => state.showSection);
  const openTabs = useAppStore((state) => state.tabs.filter((tab) => !tab.closed).length);
  const [collapsed, setCollapsed] = useState(rememberedCollapsed);

  function toggle(): void {
    const next = !collapsed;
    setCollapsed(next);
    try {
      localStorage.setItem(COLLAPSED_KEY, next ? '1' : '0');
    } catch {
      // Storage refused (private mode): the bar still collapses, just not remembered.
    }
  }

  return (
    <nav
      className={`nav${collapsed ? ' nav--collapsed' : ''}`}
      aria-label="Sections"
      data-testid="nav"
      data-collapsed={collapsed}
    >
      <div className="nav__brand">
        <span className="nav__logo" aria-hidden="true">
          &gt;_
        </span>
        {!collapsed && <span>LR Workstation</span>}
      </div>
      <ul className="nav__list">
        {SECTIONS.map((item) => (
          <li key={item.id}>
            <button
              type="button"
              className="nav__item"
              data-testid={`nav-${item.id}`}
              aria-current={item.id === section ? 'page' : undefined}
              aria-label={collapsed ? item.label : undefined}
              title={collapsed ? item.label : undefined}
              onClick={() => showSection(item.id)}
            >
              {collapsed ? (
                <span className="nav__initials" aria-hidden="true">
                  {initials(item.label)}
                </span>
              ) : (
                <span>{item.label}</span>
              )}
              {item.id === 'consoles' && openTabs > 0 && <span className="nav__badge">{openTabs}</span>}
            </button>
          </li>
        ))}
      </ul>
      <button
        type="button"
        className="nav__collapse"
        data-testid="nav-collapse"
        aria-expanded={!collapsed}
        aria-label={collapsed ? 'Expand the navigation' : 'Collapse the navigation'}
        title={collapsed ? 'Expand the navigation' : 'Collapse the navigation'}
        onClick={toggle}
      >
        {collapsed ? '»' : '« Collapse'}
      </button>
    </nav>
  );
}
