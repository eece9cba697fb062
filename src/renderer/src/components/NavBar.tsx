import { SECTIONS, useAppStore } from '../state/app-store.js';

export function NavBar() {
  const section = useAppStore((state) => state.section);
  const showSection = useAppStore((state) => state.showSection);
  const openTabs = useAppStore((state) => state.tabs.filter((tab) => !tab.closed).length);
  return (
    <nav className="nav" aria-label="Sections">
      <div className="nav__brand">
        <span className="nav__logo" aria-hidden="true">
          &gt;_
        </span>
        <span>LR Workstation</span>
      </div>
      <ul className="nav__list">
        {SECTIONS.map((item) => (
          <li key={item.id}>
            <button
              type="button"
              className="nav__item"
              data-testid={`nav-${item.id}`}
              aria-current={item.id === section ? 'page' : undefined}
              onClick={() => showSection(item.id)}
            >
              <span>{item.label}</span>
              {item.id === 'consoles' && openTabs > 0 && <span className="nav__badge">{openTabs}</span>}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
