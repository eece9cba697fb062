// lint-as: src/renderer/src/components/Fixture.tsx
// expect: clean
import { useState } from 'react';
import { MAX_ECHO_TEXT } from '../../../shared/workstation/ipc-contract.js';

export function Fixture() {
  const [text] = useState('');
  return <p>{text.slice(0, MAX_ECHO_TEXT)}</p>;
}
