/**
 * The one way tests wait: poll a condition until it holds or a deadline passes. Never a
 * bare sleep as synchronisation — a sleep long enough on a loaded 2-core machine is too
 * long everywhere else, and a short one is flaky. (The implementation is shared with
 * `vigil demo`, in src/local.)
 */
export { WaitTimeoutError, waitFor, type WaitForOptions } from '../../src/local/wait';
