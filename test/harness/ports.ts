/** Free loopback ports for tests (shared with `vigil demo`, in src/local). */
export { freePort, freePorts } from '../../src/local/ports';
