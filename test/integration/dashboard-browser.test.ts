/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core) while a small fleet streams: the page asks for the token, shows vouchers/s
 * and totals that move, draws settlements, and closes a channel from its Close button after
 * the confirmation dialog; the API then reports the channel closed by the operator. The page
 * must run under its own Content-Security-Policy without a console error.
 *
 * Chromium is required: CI installs it with apt (`apt-get install chromium`). Without it this
 * test fails rather than skipping, so a missing browser is never mistaken for a pass.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DeviceChannel } from '../../src/device/device-channel.js';
import { startAdminHub, type AdminHub } from '../helpers/admin-hub.js';

const CHROMIUM = '/usr/bin/chromium';

// What the page-side callbacks use (they run in the browser; this project compiles without the
// DOM library, so declare just that much, module-scoped).
declare const document: {
  getElementById(
    id: string,
  ): { getAttribute(name: string): string | null; textContent: string | null } | null;
};
declare const sessionStorage: { getItem(key: string): string | null };

let hub: AdminHub;
let browser: Browser;
let streaming = true;
const loops: Promise<void>[] = [];
const channels: DeviceChannel[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) to run the dashboard browser test`,
    );
  }
  hub = await startAdminHub({ settleIntervalMs: 300 });
  for (let i = 0; i < 3; i++) {
    const d = await hub.newDevice();
    const channel = await d.device.open({
      payeeId: `payee-dash-${i}`,
      asset: 'USD',
      capacityBaseUnits: 10_000_000n,
      lifetimeS: 600,
      price: { baseUnits: 1n, perUnits: 1n },
    });
    channels.push(channel);
    // Different rates, so the busiest list has an order.
    const step = BigInt(10 * (i + 1));
    loops.push(
      (async () => {
        while (streaming && channel.status === 'open') {
          try {
            await channel.payBaseUnits(step);
            await channel.whenAcked();
          } catch {
            return; // closed under us (by the test): stop streaming on this channel
          }
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
      })(),
    );
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  streaming = false;
  await Promise.all(loops);
  await browser?.close();
  await hub?.stop();
});

const numberOf = async (page: Page, id: string): Promise<bigint> =>
  BigInt((await page.getAttribute(`#${id}`, 'data-value')) ?? '0');

it('shows live figures and closes a channel from the page', async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  await page.goto(`${hub.url}/`);
  await page.waitForSelector('#login:not([hidden])');
  expect(await page.isVisible('#dashboard')).toBe(false);
  await page.fill('#token-input', hub.token);
  await page.click('#token-submit');
  await page.waitForSelector('#dashboard:not([hidden])');

  // Live figures: vouchers/s above zero, and two readings of the totals that differ.
  await page.waitForFunction(
    () => Number(document.getElementById('vouchers-per-s')?.getAttribute('data-value')) > 0,
    undefined,
    { timeout: 10_000 },
  );
  expect(await page.textContent('#hub-id')).toBe(hub.running.hubId);
  expect(await page.getAttribute('#broker-status', 'data-value')).toBe('connected');
  expect(await numberOf(page, 'open-channels')).toBe(3n);
  const accepted1 = await numberOf(page, 'vouchers-accepted');
  const settled1 = await numberOf(page, 'settled-total');
  const escrow1 = await numberOf(page, 'escrow');
  await page.waitForFunction(
    (before) =>
      BigInt(document.getElementById('vouchers-accepted')?.getAttribute('data-value') ?? '0') >
      BigInt(before),
    accepted1.toString(),
    { timeout: 10_000 },
  );
  await page.waitForFunction(
    (before) =>
      BigInt(document.getElementById('settled-total')?.getAttribute('data-value') ?? '0') >
      BigInt(before),
    settled1.toString(),
    { timeout: 10_000 },
  );
  expect(await numberOf(page, 'vouchers-accepted')).toBeGreaterThan(accepted1);
  expect(await numberOf(page, 'settled-total')).toBeGreaterThan(settled1);
  expect(await numberOf(page, 'escrow')).toBeLessThan(escrow1);
  // The settlement chart has bars.
  await page.waitForSelector('#settlement-chart rect');

  // The busiest channels, with a Close button each.
  const target = channels[0]!.channelIdHex;
  const spared = channels[1]!.channelIdHex;
  await page.waitForSelector(`tr[data-channel-id="${target}"][data-status="open"]`);
  expect(await page.locator('#busiest-body tr').count()).toBe(3);

  // Dismissing the confirmation closes nothing.
  page.once('dialog', (dialog) => void dialog.dismiss());
  await page.click(`button[data-action="close"][data-channel-id="${spared}"]`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect((await hub.api('GET', `/api/channels/${spared}`)).body.channel.status).toBe('open');

  // Accepting it closes the channel.
  let confirmText = '';
  page.once('dialog', (dialog) => {
    confirmText = dialog.message();
    void dialog.accept();
  });
  await page.click(`button[data-action="close"][data-channel-id="${target}"]`);
  await page.waitForSelector(`tr[data-channel-id="${target}"][data-status="closed"]`, {
    timeout: 10_000,
  });
  expect(confirmText).toContain(target);
  expect(await page.textContent(`tr[data-channel-id="${target}"] td[data-field="status"]`)).toBe(
    'closed',
  );
  expect(
    await page.locator(`button[data-action="close"][data-channel-id="${target}"]`).count(),
  ).toBe(0);
  expect(await page.getAttribute('#message', 'data-kind')).toBe('info');
  const api = await hub.api('GET', `/api/channels/${target}`);
  expect(api.body.channel).toMatchObject({ status: 'closed', closeReason: 'operator' });
  // It stays shown as closed across polls, while the open count drops.
  await page.waitForFunction(
    () => document.getElementById('open-channels')?.getAttribute('data-value') === '2',
    undefined,
    { timeout: 5000 },
  );
  expect(await page.getAttribute(`tr[data-channel-id="${target}"]`, 'data-status')).toBe('closed');

  // The token stays in this tab's sessionStorage: a reload goes straight to the dashboard.
  await page.reload();
  await page.waitForSelector('#dashboard:not([hidden])');
  expect(await page.isVisible('#login')).toBe(false);

  expect(problems).toEqual([]);
  await page.close();
});

it('asks again for the token when the hub refuses it', async () => {
  const page = await browser.newPage();
  await page.goto(`${hub.url}/`);
  await page.fill('#token-input', 'not-the-token-at-all');
  await page.click('#token-submit');
  await page.waitForSelector('#login:not([hidden])');
  await page.waitForFunction(() => document.getElementById('login-message')?.textContent !== '');
  expect(await page.textContent('#login-message')).toContain('refused');
  expect(await page.evaluate(() => sessionStorage.getItem('farthing-admin-token'))).toBeNull();
  await page.close();
});
