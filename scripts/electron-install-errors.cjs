/**
 * Preloaded (node --require) into node_modules/electron/install.js by scripts/start.mjs. The installer
 * reports a failure with `console.error(err.stack)`: that goes to file descriptor 3 instead, a pipe
 * start.mjs reads to say why in one line, with the network error behind "fetch failed" (the stack does not
 * show it). Its progress bar (drawn on stderr, a terminal) is left alone.
 */
'use strict';
const { writeSync } = require('node:fs');
const { format } = require('node:util');

let networkError;
const realFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  try {
    return await realFetch(...args);
  } catch (error) {
    // e.g. "getaddrinfo ENOTFOUND github.com", "connect ECONNREFUSED 127.0.0.1:9"
    if (error && error.cause && error.cause.message) networkError = `${error.cause.message} for ${String(args[0])}`;
    throw error;
  }
};

console.error = (...args) => {
  const [first = '', ...rest] = format(...args).split('\n');
  const text =
    [networkError && !first.includes(networkError) ? `${first}: ${networkError}` : first, ...rest].join('\n') + '\n';
  try {
    writeSync(3, text);
  } catch {
    process.stderr.write(text); // started without that pipe: as usual
  }
};
