import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../api/index.ts';
import { MemoryLog } from '../agent-log.ts';
import { fixtureSystem } from '../discovery/fixture-system.ts';
import { nodeSystemAccess } from '../discovery/system-access.ts';
import { tempDir } from '../../testing/test-stores.ts';
import { type JournalRunner, LinuxLogs, type LogFiles, nodeLogFiles } from './linux-logs.ts';
import { LinuxMetrics } from './linux-metrics.ts';
import type { Sample } from './otlp-batch.ts';
import { TelemetryBuffer } from './telemetry-buffer.ts';
import { TelemetryRunner } from './telemetry-runner.ts';

// The agent's side of issue 15: real /proc and /sys on this machine, journald through a fixture
// (this machine has none), the bounded on-disk buffer, and a runner that follows its config.

const value = (samples: Sample[], name: string, attrs: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(attrs).every(([k, v]) => s.attrs[k] === v))?.value;

test('this machine: memory, CPU, load, disks and interfaces read from /proc and /sys agree with free- and df-style reads', async () => {
  const m = new LinuxMetrics(nodeSystemAccess);
  const t = Date.now();
  const mem = await m.collect('memory', t);
  const meminfo = Object.fromEntries(readFileSync('/proc/meminfo', 'utf8').split('\n').filter(Boolean).map((l) => [l.split(':')[0], Number(l.split(/\s+/)[1]) * 1024]));
  assert.equal(value(mem, 'system.memory.limit'), meminfo.MemTotal);
  // Available moves between two reads on a busy machine: within 2 % of the total.
  assert.ok(Math.abs(value(mem, 'system.memory.linux.available')! - meminfo.MemAvailable) < 0.02 * meminfo.MemTotal);
  const free = (() => {
    try {
      return execFileSync('free', ['-b'], { encoding: 'utf8' });
    } catch {
      return undefined;
    }
  })();
  if (free) {
    const [, total] = free.split('\n')[1].trim().split(/\s+/).map(Number);
    assert.equal(value(mem, 'system.memory.limit'), total, '`free -b` total');
  }
  const used = value(mem, 'system.memory.usage', { 'system.memory.state': 'used' })!;
  assert.ok(used > 0 && used < meminfo.MemTotal);

  await m.collect('cpu', t);
  await new Promise((r) => setTimeout(r, 200));
  const cpu = await m.collect('cpu', t + 200);
  const sum = cpu.filter((s) => s.name === 'system.cpu.utilization').reduce((a, s) => a + s.value, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9, `modes add up to 1 (${sum})`);
  assert.equal(cpu.length, 8);

  const load = await m.collect('load', t);
  assert.equal(value(load, 'system.cpu.load_average.1m'), Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));

  const disk = await m.collect('disk', t);
  const rootUsed = value(disk, 'system.filesystem.usage', { 'system.filesystem.state': 'used' });
  if (rootUsed !== undefined) {
    const mount = disk[0].attrs['system.filesystem.mountpoint'];
    const df = execFileSync('df', ['-B1', '--output=used,avail', mount], { encoding: 'utf8' }).trim().split('\n')[1].trim().split(/\s+/).map(Number);
    const s = disk.filter((x) => x.attrs['system.filesystem.mountpoint'] === mount);
    const usedNow = value(s, 'system.filesystem.usage', { 'system.filesystem.state': 'used' })!;
    const availNow = value(s, 'system.filesystem.usage', { 'system.filesystem.state': 'free' })!;
    // The same statvfs as df, read a moment apart on a busy disk: within 1 %.
    assert.ok(Math.abs(usedNow - df[0]) <= 0.01 * (df[0] + df[1]), `used ${usedNow} vs df ${df[0]}`);
    assert.ok(Math.abs(availNow - df[1]) <= 0.01 * (df[0] + df[1]), `avail ${availNow} vs df ${df[1]}`);
  } else {
    process.stderr.write('\n*** no ext4/xfs/btrfs… filesystem mounted here: the disk group was not compared with df ***\n\n');
  }
  const net = await m.collect('net', t);
  const devLines = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).filter((l) => l.includes(':') && !l.trim().startsWith('lo:'));
  assert.equal(net.filter((s) => s.name === 'system.network.io').length, devLines.length * 2, 'receive and transmit per interface but lo');
  assert.ok(net.every((s) => s.type === 'counter' && s.value >= 0));
  const temp = await m.collect('temp', t);
  assert.ok(temp.every((s) => s.value > -50 && s.value < 150), 'temperatures in °C');
});

test('fixture: disk usage as df counts it (reserved blocks are neither used nor free), temperatures from hwmon and thermal zones', async () => {
  const sys = fixtureSystem({
    files: {
      '/proc/mounts': 'proc /proc proc rw 0 0\n/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040data xfs rw 0 0\ntmpfs /run tmpfs rw 0 0\n',
      '/sys/class/hwmon/hwmon0/name': 'coretemp\n',
      '/sys/class/hwmon/hwmon0/temp1_input': '45000\n',
      '/sys/class/hwmon/hwmon0/temp1_label': 'Package id 0\n',
      '/sys/class/thermal/thermal_zone0/type': 'acpitz\n',
      '/sys/class/thermal/thermal_zone0/temp': '27800\n',
    },
  });
  const statfs = async (p: string) => (p === '/' ? { bsize: 4096, blocks: 1000, bfree: 300, bavail: 250 } : p === '/mnt/my data' ? { bsize: 1024, blocks: 10, bfree: 10, bavail: 10 } : undefined);
  const m = new LinuxMetrics(sys, statfs);
  const disk = await m.collect('disk', 0);
  const root = disk.filter((s) => s.attrs['system.filesystem.mountpoint'] === '/');
  assert.equal(value(root, 'system.filesystem.usage', { 'system.filesystem.state': 'used' }), 700 * 4096);
  assert.equal(value(root, 'system.filesystem.usage', { 'system.filesystem.state': 'free' }), 250 * 4096);
  assert.equal(value(root, 'system.filesystem.usage', { 'system.filesystem.state': 'reserved' }), 50 * 4096);
  assert.equal(value(root, 'system.filesystem.utilization'), 700 / 950, 'df Use% = used / (used + avail)');
  assert.ok(disk.some((s) => s.attrs['system.filesystem.mountpoint'] === '/mnt/my data'), 'octal escapes in /proc/mounts');
  assert.ok(!disk.some((s) => s.attrs['system.filesystem.type'] === 'tmpfs'));
  const temp = await m.collect('temp', 0);
  assert.deepEqual(temp.map((s) => [s.attrs['hw.name'], s.value]), [['coretemp Package id 0', 45], ['acpitz', 27.8]]);
});

/** A journal of numbered entries: the runner answers what journalctl would, honouring --after-cursor, -p and a line limit. */
function fakeJournal(entries: { n: number; priority: number; message: string }[]): { run: JournalRunner; calls: string[][] } {
  const calls: string[][] = [];
  const run: JournalRunner = async (args, max) => {
    calls.push(args);
    if (args[0] === '--version') return ['systemd 252'];
    const line = (e: (typeof entries)[number]) => JSON.stringify({ __CURSOR: `c${e.n}`, __REALTIME_TIMESTAMP: String(1_700_000_000_000_000 + e.n * 1000), PRIORITY: String(e.priority), MESSAGE: e.message, _SYSTEMD_UNIT: 'x.service' });
    if (args.includes('-n')) return entries.slice(-1).map(line);
    const after = args[args.indexOf('--after-cursor') + 1];
    const from = args.includes('--after-cursor') ? Number(after.slice(1)) : -1;
    const maxPrio = Number(args[args.indexOf('-p') + 1].split('..')[1]);
    return entries.filter((e) => e.n > from && e.priority <= maxPrio).slice(0, max).map(line);
  };
  return { run, calls };
}

test('journald (fixture): starts at the end, follows the cursor in bounded reads, filters by level; across a restart nothing is read twice or skipped', async () => {
  const tmp = tempDir();
  try {
    const entries = [{ n: 0, priority: 6, message: 'history, not shipped' }];
    const journal = fakeJournal(entries);
    const sys = fixtureSystem({ files: { '/run/systemd/journal/socket': '' } });
    const logs = new LinuxLogs(sys, undefined, journal.run);
    assert.equal(await logs.problem('syslog'), undefined);
    const dir = `${tmp.dir}/telemetry`;
    let buffer = new TelemetryBuffer({ dir, maxBytes: 1 << 20 });
    const first = await logs.read('syslog', 'warn', buffer.cursor('syslog'), 3);
    assert.deepEqual([first.entries.length, first.cursor], [0, 'c0']);
    buffer.add('logs', '{}', { syslog: first.cursor! });
    for (let n = 1; n <= 7; n++) entries.push({ n, priority: n % 2 === 0 ? 6 : 3, message: `line ${n}` });
    const a = await logs.read('syslog', 'warn', buffer.cursor('syslog'), 3);
    assert.deepEqual(a.entries.map((e) => e.body), ['line 1', 'line 3', 'line 5'], 'errors only (-p 0..4), three at a time');
    assert.deepEqual(journal.calls.at(-1)!.slice(-4), ['-p', '0..4', '--after-cursor', 'c0']);
    buffer.add('logs', JSON.stringify(a.entries), { syslog: a.cursor! });
    // The agent restarts: the buffer (and the cursor carried by its newest batch) comes back from disk.
    buffer = new TelemetryBuffer({ dir, maxBytes: 1 << 20 });
    assert.equal(buffer.size, 2);
    const b = await logs.read('syslog', 'warn', buffer.cursor('syslog'), 3);
    assert.deepEqual(b.entries.map((e) => e.body), ['line 7']);
    assert.equal(b.entries[0].severity, 17);
    assert.equal(b.entries[0].attrs.unit, 'x.service');
    // Sent batches hand their cursor to the saved state: still right after another restart.
    buffer.ack(1);
    buffer.ack(2);
    buffer = new TelemetryBuffer({ dir, maxBytes: 1 << 20 });
    assert.equal(buffer.cursor('syslog'), a.cursor);
  } finally {
    tmp.remove();
  }
});

test('fixture: diskio from /proc/diskstats, whole disks only (those in /sys/block; partitions, loop, ram and zram left out)', async () => {
  const sys = fixtureSystem({
    files: {
      // Kernel 4.18+ (17 fields after the name) and an older one (11): the first seven counters are the same.
      '/proc/diskstats': [
        '   7       0 loop0 120 0 960 4 0 0 0 0 0 8 4 0 0 0 0 0 0',
        '   8       0 sda 1000 20 80000 300 400 10 16000 900 0 700 1200 5 0 40 2 30 1',
        '   8       1 sda1 900 20 70000 280 390 10 15000 890 0 690 1170 0 0 0 0 0 0',
        ' 259       0 nvme0n1 10 0 2048 1 20 0 4096 2 0 3 3',
        ' 253       0 dm-0 5 0 40 1 6 0 48 1 0 2 2 0 0 0 0 0 0',
        ' 253       1 zram0 3 0 24 0 3 0 24 0 0 0 0 0 0 0 0 0 0',
        '   1       0 ram0 0 0 0 0 0 0 0 0 0 0 0',
        '   8      16 sdb 7',
        '',
      ].join('\n'),
      ...Object.fromEntries(['loop0', 'sda', 'nvme0n1', 'dm-0', 'zram0', 'ram0', 'sdb'].map((d) => [`/sys/block/${d}/size`, '0\n'])),
    },
  });
  const io = await new LinuxMetrics(sys).collect('diskio', 42);
  assert.ok(io.every((s) => s.type === 'counter' && s.t === 42));
  const table = io.map((s) => [s.attrs['system.device'], s.name, s.attrs['disk.io.direction'], s.value, s.unit]);
  assert.deepEqual(table, [
    ['sda', 'system.disk.io', 'read', 80000 * 512, 'By'],
    ['sda', 'system.disk.io', 'write', 16000 * 512, 'By'],
    ['sda', 'system.disk.operations', 'read', 1000, '{operation}'],
    ['sda', 'system.disk.operations', 'write', 400, '{operation}'],
    ['nvme0n1', 'system.disk.io', 'read', 2048 * 512, 'By'],
    ['nvme0n1', 'system.disk.io', 'write', 4096 * 512, 'By'],
    ['nvme0n1', 'system.disk.operations', 'read', 10, '{operation}'],
    ['nvme0n1', 'system.disk.operations', 'write', 20, '{operation}'],
    ['dm-0', 'system.disk.io', 'read', 40 * 512, 'By'],
    ['dm-0', 'system.disk.io', 'write', 48 * 512, 'By'],
    ['dm-0', 'system.disk.operations', 'read', 5, '{operation}'],
    ['dm-0', 'system.disk.operations', 'write', 6, '{operation}'],
  ], 'a line too short to hold the counters (sdb) is skipped, not NaN');
});

test('this machine: diskio agrees with /proc/diskstats read around it', async (ctx) => {
  let before: string;
  try {
    before = readFileSync('/proc/diskstats', 'utf8');
  } catch {
    ctx.skip('no /proc/diskstats here');
    return;
  }
  const io = await new LinuxMetrics(nodeSystemAccess).collect('diskio', Date.now());
  const after = readFileSync('/proc/diskstats', 'utf8');
  const fields = (text: string) => new Map(text.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)).map((f) => [f[2], f.slice(3).map(Number)]));
  const [b, a] = [fields(before), fields(after)];
  const devices = [...new Set(io.map((s) => s.attrs['system.device']))];
  if (devices.length === 0) {
    ctx.skip('no whole disk with I/O counters here');
    return;
  }
  for (const d of devices) {
    assert.ok(b.has(d) && !/^(loop|ram|zram)\d/.test(d), `${d} is a disk of /proc/diskstats`);
    const get = (name: string, dir: string) => value(io, name, { 'system.device': d, 'disk.io.direction': dir })!;
    // Counters only grow: between the reads before and after. Index 0 reads, 2 sectors read, 4 writes, 6 sectors written.
    for (const [name, dir, i, scale] of [['system.disk.operations', 'read', 0, 1], ['system.disk.io', 'read', 2, 512], ['system.disk.operations', 'write', 4, 1], ['system.disk.io', 'write', 6, 512]] as const) {
      const v = get(name, dir);
      assert.ok(v >= b.get(d)![i] * scale && v <= a.get(d)![i] * scale, `${d} ${name} ${dir}: ${v} within [${b.get(d)![i] * scale}, ${a.get(d)![i] * scale}]`);
    }
    // Each completed request moves at least one 512-byte sector.
    assert.ok(get('system.disk.io', 'read') >= get('system.disk.operations', 'read') * 512, `${d}: read bytes ≥ 512 × reads`);
    assert.ok(get('system.disk.io', 'write') >= get('system.disk.operations', 'write') * 512, `${d}: written bytes ≥ 512 × writes`);
  }
  const partitions = devices.filter((d) => /^(sd[a-z]+|vd[a-z]+|xvd[a-z]+)\d+$|^(nvme\d+n\d+|mmcblk\d+)p\d+$/.test(d));
  assert.deepEqual(partitions, [], 'whole disks only');
});

test('no journald: /var/log/syslog (a fixture file) from its end, by inode and offset, across rotation and truncation; level filtered; stamped with the line’s time', async () => {
  const tmp = tempDir();
  try {
    // The real file functions, with /var/log/… under the temp dir.
    const files: LogFiles = { stat: (p) => nodeLogFiles.stat(path.join(tmp.dir, p)), read: (p, o, n) => nodeLogFiles.read(path.join(tmp.dir, p), o, n) };
    const syslog = path.join(tmp.dir, 'var/log/syslog');
    mkdirSync(path.dirname(syslog), { recursive: true });
    writeFileSync(syslog, 'Dec  6 10:00:00 edge-01 kernel: history, not shipped\n');
    const now = new Date(2026, 11, 6, 12, 0, 0).getTime();
    const logs = new LinuxLogs(fixtureSystem({ files: {} }), files, async () => undefined, () => now);
    assert.equal(await logs.problem('syslog'), undefined);
    assert.match((await logs.problem('auth'))!, /no journald and no \/var\/log\/auth\.log/);

    const start = await logs.read('syslog', 'warn', undefined, 10);
    assert.deepEqual(start.entries, [], 'the first read starts at the end');
    appendFileSync(syslog, [
      'Dec  6 11:00:01 edge-01 nginx[10]: started',
      'Dec  6 11:00:02 edge-01 kernel: I/O error on sda',
      '2026-12-06T11:00:03.250+00:00 edge-01 smartd[3]: warning: temperature 61',
      'no stamp: disk failure',
      'Dec  6 11:00:05 edge-01 cron[4]: ran',
      'Dec  6 11:00:06 edge-01 kernel: half a line, err',
    ].join('\n'));
    const a = await logs.read('syslog', 'warn', start.cursor, 2);
    assert.deepEqual(a.entries.map((e) => [e.t, e.severity, e.body]), [
      [new Date(2026, 11, 6, 11, 0, 2).getTime(), 17, 'Dec  6 11:00:02 edge-01 kernel: I/O error on sda'],
      [Date.UTC(2026, 11, 6, 11, 0, 3, 250), 13, '2026-12-06T11:00:03.250+00:00 edge-01 smartd[3]: warning: temperature 61'],
    ], 'warn and above, two at a time, each at the time its line says');
    assert.equal(a.entries[0].attrs['log.source'], '/var/log/syslog');
    const b = await logs.read('syslog', 'warn', a.cursor, 10);
    assert.deepEqual(b.entries.map((e) => [e.t, e.body]), [[now, 'no stamp: disk failure']], 'no stamp: the time of reading; a line without its newline waits');
    appendFileSync(syslog, '\n');
    const c = await logs.read('syslog', 'warn', b.cursor, 10);
    assert.deepEqual(c.entries.map((e) => e.body), ['Dec  6 11:00:06 edge-01 kernel: half a line, err']);
    assert.deepEqual((await logs.read('syslog', 'warn', c.cursor, 10)).entries, [], 'nothing twice');
    const info = await logs.read('syslog', 'info', start.cursor, 10);
    assert.equal(info.entries.length, 6, 'at info every line, from the same cursor again');

    // logrotate: the file is renamed and a new one (another inode) begins; it is read from its start.
    renameSync(syslog, `${syslog}.1`);
    writeFileSync(syslog, 'Dec  6 11:30:00 edge-01 kernel: error after rotation\n');
    const d = await logs.read('syslog', 'warn', c.cursor, 10);
    assert.deepEqual(d.entries.map((e) => e.body), ['Dec  6 11:30:00 edge-01 kernel: error after rotation']);
    assert.notEqual(JSON.parse(d.cursor!).ino, JSON.parse(c.cursor!).ino);
    // copytruncate: the same inode, shorter than the offset: from its start.
    truncateSync(syslog, 0);
    appendFileSync(syslog, 'Dec  6 11:40:00 edge-01 x: failed\n');
    assert.deepEqual((await logs.read('syslog', 'warn', d.cursor, 10)).entries.map((e) => e.body), ['Dec  6 11:40:00 edge-01 x: failed']);
  } finally {
    tmp.remove();
  }
});

test('no journald and no /var/log/syslog: the log group is a problem, not silence', async () => {
  const logs = new LinuxLogs(fixtureSystem({ files: {} }), { stat: async () => undefined, read: async () => Buffer.alloc(0) }, async () => undefined);
  assert.match((await logs.problem('syslog'))!, /no journald and no \/var\/log\/syslog/);
});

test('the buffer is bounded by bytes: the oldest batches go first, counted; the rest keep their order across a restart', () => {
  const tmp = tempDir();
  try {
    const b = new TelemetryBuffer({ dir: tmp.dir, maxBytes: 5 * (100 + 64) });
    for (let i = 0; i < 8; i++) b.add('metrics', String(i).repeat(100));
    assert.equal(b.dropped, 3);
    assert.equal(b.size, 5);
    const again = new TelemetryBuffer({ dir: tmp.dir, maxBytes: 5 * (100 + 64) });
    const order: number[] = [];
    for (let x = again.peek(); x; x = again.peek()) {
      order.push(x.seq);
      again.ack(x.seq);
    }
    assert.deepEqual(order, [4, 5, 6, 7, 8]);
    assert.equal(again.dropped, 3);
    assert.equal(again.stream, b.stream);
  } finally {
    tmp.remove();
  }
});

test('the runner: unknown groups are reported, a new config changes the cadence at once, an empty one stops collection', async () => {
  const collected: number[] = [];
  const reports: unknown[] = [];
  const sent: string[] = [];
  const runner = new TelemetryRunner({
    metrics: { collect: async (g, t) => (collected.push(t), [{ name: `x.${g}`, attrs: {}, type: 'gauge', unit: '1', value: 1, t }]) },
    logs: { problem: async () => undefined, read: async () => ({ entries: [], cursor: undefined }) },
    buffer: new TelemetryBuffer({ maxBytes: 1 << 20 }),
    send: async (_s, _b, batch) => void sent.push(batch),
    onReport: (r) => reports.push(r),
    onUnauthenticated: () => {},
    clock: systemClock,
    log: new MemoryLog(),
    resource: {},
  });
  try {
    runner.configure({ metrics: [{ groups: ['cpu', 'gpu'], intervalSeconds: 1 }], logs: [{ groups: ['nginx'], level: 'warn' }] });
    assert.deepEqual((reports.at(-1) as { unknownGroups: string[] }).unknownGroups, ['gpu', 'nginx']);
    await new Promise((r) => setTimeout(r, 2300));
    const slow = collected.length;
    assert.ok(slow >= 2 && slow <= 4, `every second: ${slow} in 2.3 s`);
    assert.ok(sent.length >= 2 && sent.every((s, i) => i === 0 || Number(s.split('.')[1]) > Number(sent[i - 1].split('.')[1])), 'sent in order');
    runner.configure({ metrics: [{ groups: ['cpu'], intervalSeconds: 60 }], logs: [] });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(collected.length, slow + 1, 'the new config collected once at once, then waits its 60 s');
    assert.deepEqual((reports.at(-1) as { unknownGroups: string[] }).unknownGroups, []);
    runner.configure({ metrics: [], logs: [] });
    const stopped = collected.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(collected.length, stopped);
  } finally {
    runner.stop();
  }
});
