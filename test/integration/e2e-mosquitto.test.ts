import { connect } from 'node:net';
import { defineE2eSuite } from './e2e-suite.js';

const HOST = '127.0.0.1';
const PORT = 1883;

/** Fails (never skips) when nothing listens where the external Mosquitto must be. */
async function requireMosquitto(): Promise<void> {
  const listening = await new Promise<boolean>((resolve) => {
    const socket = connect(PORT, HOST);
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (!listening)
    throw new Error(
      `no MQTT broker listens on ${HOST}:${PORT}: these tests need the external Mosquitto ` +
        '(anonymous, e.g. `mosquitto -p 1883`) and fail rather than skip without it',
    );
}

// An external, anonymous Mosquitto with no ACL: it authorizes nothing, so the hub's own checks
// (CHANNEL_NOT_OWNED for a message on another device's topic) are what stops a forgery.
defineE2eSuite('end to end on an external Mosquitto', async () => {
  await requireMosquitto();
  return { broker: { url: `mqtt://${HOST}:${PORT}` }, foreignTopic: 'hub-answers' };
});
