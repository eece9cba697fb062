import { SECTIONS, useAppStore } from '../state/app-store.js';

export function NavBar() {
  const section = useAppStore((state) => state.section);
  const showSection = useAppStore((state) => state.showSection);
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
              {item.label}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
