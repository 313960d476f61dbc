// Notification targets from one setting string each, so the aggregator's config stays flat:
//   alertmanager=http://receiver:9093/hook
//   pagerduty=<routing-key>@https://events.pagerduty.com/v2/enqueue
// A comma-separated list of these is what `VIGIL_NOTIFY` (or `--notify`) holds.
import type { NotifyTarget } from './notifier.ts';

export class NotifyTargetError extends Error {
  override readonly name = 'NotifyTargetError';
}

export function parseNotifyTarget(spec: string): NotifyTarget {
  const eq = spec.indexOf('=');
  const format = spec.slice(0, eq).trim();
  const rest = spec.slice(eq + 1).trim();
  if (eq < 0 || (format !== 'alertmanager' && format !== 'pagerduty')) {
    throw new NotifyTargetError(`notify target "${spec}": must start with alertmanager= or pagerduty=`);
  }
  let url = rest;
  let routingKey: string | undefined;
  if (format === 'pagerduty') {
    const at = rest.indexOf('@');
    if (at <= 0) throw new NotifyTargetError(`notify target "${spec}": pagerduty needs <routing-key>@<url>`);
    routingKey = rest.slice(0, at);
    url = rest.slice(at + 1);
  }
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new NotifyTargetError(`notify target "${spec}": "${url}" is not an http(s) URL`);
  }
  return routingKey ? { url, format, routingKey } : { url, format };
}

export function parseNotifyTargets(list: string): NotifyTarget[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseNotifyTarget);
}
