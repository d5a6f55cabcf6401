import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { splitServers } from './cli-context.ts';
import { registerAgentCommand, resolveOptions } from './commands/agent-command.ts';

// `--server` taken several times or comma-separated: agents and the simulator fail over between them.

test('splitServers reads a comma-separated list, ignoring blanks', () => {
  assert.deepEqual(splitServers('http://a:8080, http://b:8080,,'), ['http://a:8080', 'http://b:8080']);
  assert.deepEqual(splitServers(undefined), []);
});

test('eim agent takes --server repeated or comma-separated, and refuses a non-URL among them', () => {
  const parse = (argv: string[]) => {
    const program = new Command('eim').exitOverride();
    registerAgentCommand(program);
    let got: ReturnType<typeof resolveOptions> | undefined;
    const agent = program.commands.find((c) => c.name() === 'agent')!;
    agent.action((o, cmd: Command) => {
      got = resolveOptions(o, cmd, {});
    });
    program.parse(['node', 'eim', 'agent', ...argv, '--data-dir', '/tmp/x']);
    return got!;
  };
  assert.deepEqual(parse(['--server', 'http://a:8080', '--server', 'http://b:8080']).server, ['http://a:8080', 'http://b:8080']);
  assert.deepEqual(parse(['--server', 'http://a:8080,http://b:8080,http://c:8080']).server, ['http://a:8080', 'http://b:8080', 'http://c:8080']);
  assert.equal(parse(['--server', 'http://a:8080']).server, 'http://a:8080');
  assert.throws(() => parse(['--server', 'http://a:8080,ftp://b']), /--server must be an http\(s\) URL \(got "ftp:\/\/b"\)/);
});
