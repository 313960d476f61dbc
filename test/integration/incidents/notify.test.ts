import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidentEngine } from '../../../aggregator/correlate/engine.ts';
import { Notifier } from '../../../aggregator/notify/notifier.ts';
import type { Signal } from '../../../common/signal.ts';
import { eventually } from '../../support/processes.ts';
import { StaticTopology } from '../../support/static-topology.ts';
import { podSubject, signal } from '../../unit/incidents/fixtures.ts';

const logger = pino({ level: 'silent' });

interface Received {
  path: string;
  body: Record<string, unknown>;
}

async function receiver(
  failFirst = 0,
): Promise<{ url: string; received: Received[]; server: Server; hits: () => number }> {
  const received: Received[] = [];
  let hits = 0;
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => {
      data += c.toString();
    });
    req.on('end', () => {
      hits += 1;
      if (hits <= failFirst) {
        res.writeHead(503).end();
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"success"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, received, server, hits: () => hits };
}

function storm(): { topo: StaticTopology; signals: Signal[] } {
  const topo = new StaticTopology();
  topo.addWorkload({
    namespace: 'shop',
    app: 'db',
    kind: 'StatefulSet',
    replicas: 1,
    nodes: ['node-1'],
    port: 5432,
  });
  const api = topo.addWorkload({
    namespace: 'shop',
    app: 'api',
    replicas: 20,
    nodes: ['node-1', 'node-2', 'node-3', 'node-4'],
    port: 8080,
  });
  const signals: Signal[] = [
    signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-1'), 0, { severity: 'critical' }),
  ];
  for (let w = 0; w < 10; w++) {
    for (const pod of api) {
      signals.push(
        signal('log.error_rate_jump', podSubject('shop', pod, topo.pod('shop', pod)?.node ?? ''), 1 + w, {
          severity: 'error',
          lines: ['connection refused to db:5432'],
        }),
      );
    }
  }
  return { topo, signals };
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('notifications', () => {
  it('sends one message per incident and one on resolve, in Alertmanager v4 and PagerDuty v2 formats', async () => {
    const am = await receiver();
    const pd = await receiver();
    servers.push(am.server, pd.server);
    const notifier = new Notifier({
      targets: [
        { url: `${am.url}/alertmanager`, format: 'alertmanager' },
        { url: `${pd.url}/v2/enqueue`, format: 'pagerduty', routingKey: 'r'.repeat(32) },
      ],
      logger,
      groupWaitMs: 50,
      groupIntervalMs: 60_000,
      pollMs: 20,
    });
    const { topo, signals } = storm();
    const engine = createIncidentEngine({ topology: topo, logger, notifier });
    for (const s of signals) {
      engine.ingestSignals([s]);
      engine.tick();
    }
    expect(signals.length).toBe(201);
    await eventually(
      () => am.received.length === 1 && pd.received.length === 1,
      10_000,
      'the first messages',
    );
    const incident = engine.incidents()[0];
    if (!incident) throw new Error('no incident');
    // Signals of the same incident keep arriving: no new message while nothing a person cares about changed.
    engine.ingestSignals(signals.slice(1, 50));
    engine.tick();
    await notifier.flush();
    engine.resolve(incident.id, 'alice');
    await eventually(
      () => am.received.length === 2 && pd.received.length === 2,
      10_000,
      'the resolve messages',
    );
    await new Promise((r) => setTimeout(r, 200));
    await notifier.flush();
    expect(am.received).toHaveLength(2);
    expect(pd.received).toHaveLength(2);

    const [firing, resolved] = am.received.map((r) => r.body);
    expect(firing).toMatchObject({ version: '4', groupKey: incident.id, status: 'firing' });
    expect(resolved).toMatchObject({ version: '4', groupKey: incident.id, status: 'resolved' });
    const alerts = (firing?.['alerts'] ?? []) as Array<{ labels: Record<string, string>; endsAt: string }>;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.labels['root_cause']).toBe('Pod/shop/db-0');
    expect(alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');

    const [trigger, resolve] = pd.received.map((r) => r.body);
    expect(trigger).toMatchObject({
      event_action: 'trigger',
      dedup_key: incident.id,
      routing_key: 'r'.repeat(32),
    });
    expect((trigger?.['payload'] as { summary: string } | undefined)?.summary).toMatch(
      /oom_kill Pod\/shop\/db-0/,
    );
    expect(resolve).toMatchObject({ event_action: 'resolve', dedup_key: incident.id });
    notifier.close();
  });

  it('retries a receiver that answers 503 with backoff and delivers once', async () => {
    const am = await receiver(2);
    servers.push(am.server);
    const notifier = new Notifier({
      targets: [{ url: am.url, format: 'alertmanager' }],
      logger,
      groupWaitMs: 0,
      retryBaseMs: 20,
      pollMs: 10,
    });
    const { topo, signals } = storm();
    const engine = createIncidentEngine({ topology: topo, logger, notifier });
    engine.ingestSignals(signals.slice(0, 5));
    await eventually(() => am.received.length === 1, 10_000, 'delivery after retries');
    expect(am.hits()).toBe(3);
    expect(notifier.stats).toMatchObject({ sent: 1, retried: 2, failed: 0 });
    notifier.close();
  });
});
