import { defineE2eSuite } from './e2e-suite.js';

// The hub's own aedes broker on a free loopback port: devices prove their key at CONNECT and
// may publish only on their own up topic.
defineE2eSuite('end to end on the embedded broker', async () => ({
  broker: undefined,
  foreignTopic: 'broker-refuses',
}));
