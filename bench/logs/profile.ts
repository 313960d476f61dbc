// The main thread's V8 CPU profile over a bench's measured part only (open it in Chrome DevTools).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

export async function stopProfile(session: Session, path: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(profile));
  session.disconnect();
}
