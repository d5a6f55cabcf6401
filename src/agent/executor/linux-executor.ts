import { accessSync, constants } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AgentCommand, CommandResult, NodeConfigPayload } from '../../api/index.ts';
import { applyConfigParams, InvalidParamsError, type InstallOsParams, installOsParams, powerParams, updateOsParams } from './command-params.ts';
import { commandLine, type ExecFn, spawnExec } from './exec-command.ts';
import { type Executor, failed, type Progress, succeeded } from './executor.ts';
import { downloadImage, ImageDownloadError, type ImageDownloadRequest } from './image-download.ts';
import type { NodeConfigApplyResult, NodeConfigExecutor, NodeConfigMemory } from './node-config-apply.ts';
import { LinuxNodeConfig } from './linux-node-config.ts';

export interface LinuxExecutorOptions {
  /** Where config.json and downloaded images go. */
  dataDir: string;
  /** Run power, install-os, update-os and wipe for real; without it they are dry runs. @default false */
  allowDisruptive?: boolean;
  /** The only disk install-os and wipe ever write to. Without it those steps stay dry runs. */
  targetDisk?: string;
  /** @default spawnExec */
  exec?: ExecFn;
  /** @default downloadImage */
  download?: (req: ImageDownloadRequest) => Promise<unknown>;
  /** Whether a program is on the PATH. @default looks through $PATH */
  hasCommand?: (name: string) => boolean;
  /** Let node configuration run useradd, usermod, userdel, chown, visudo and cloud-init; without it they are reported, not run. @default false */
  allowNodeConfig?: boolean;
  /** Node configuration takes every path relative to this directory (and writes files there even without allowNodeConfig). @default / */
  root?: string;
}

interface Step {
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** The update phase the step belongs to, named in its progress message (downloading, applying, rebooting, verifying). */
  phase?: string;
}

const NOT_ALLOWED = 'the agent runs without --allow-disruptive, so it ran nothing';
const NO_DISK = 'no --target-disk was given, so writing a disk stays a dry run (even with --allow-disruptive)';

/**
 * Runs commands on this Linux machine. power (off, reset, power-cycle), install-os, update-os and
 * wipe are disruptive: without `allowDisruptive` none of them runs anything; each answers
 * `succeeded` with `details: { dryRun: true, wouldRun: [...] }`. Writing a disk (install-os,
 * wipe) also needs `targetDisk`, the one disk the operator allowed. `power on` is a no-op (the
 * machine is on); apply-config writes `<dataDir>/config.json`.
 * @example new LinuxExecutor({ dataDir: '/var/lib/eim-agent' }) // dry runs only
 */
export class LinuxExecutor implements Executor, NodeConfigExecutor {
  readonly name = 'linux';
  private readonly nodeConfig: LinuxNodeConfig;
  private readonly exec: ExecFn;
  private readonly download: (req: ImageDownloadRequest) => Promise<unknown>;
  private readonly hasCommand: (name: string) => boolean;

  constructor(private readonly options: LinuxExecutorOptions) {
    this.exec = options.exec ?? spawnExec;
    this.download = options.download ?? downloadImage;
    this.hasCommand = options.hasCommand ?? onPath;
    this.nodeConfig = new LinuxNodeConfig({ allow: options.allowNodeConfig === true, root: options.root, exec: this.exec, hasCommand: this.hasCommand });
  }

  /** Node configuration (LinuxNodeConfig): dry runs without allowNodeConfig, paths under `root`. */
  applyNodeConfig(desired: NodeConfigPayload, previous: NodeConfigMemory, signal: AbortSignal): Promise<NodeConfigApplyResult> {
    return this.nodeConfig.apply(desired, previous, signal);
  }

  async run(command: AgentCommand, progress: Progress, signal: AbortSignal): Promise<CommandResult> {
    try {
      switch (command.type) {
        case 'power':
          return await this.power(command, progress, signal);
        case 'apply-config':
          return await this.applyConfig(command);
        case 'install-os':
          return await this.installImage('install-os', installOsParams(command), progress, signal);
        case 'update-os':
          return await this.updateOs(command, progress, signal);
        case 'wipe':
          return await this.wipe(progress, signal);
      }
    } catch (e) {
      if (e instanceof InvalidParamsError) return failed(e.message, false);
      if (e instanceof ImageDownloadError) return failed(e.message, e.recoverable);
      return failed(`${command.type} failed: ${(e as Error).message}`, true);
    }
  }

  private async power(c: AgentCommand, progress: Progress, signal: AbortSignal): Promise<CommandResult> {
    const target = powerParams(c);
    if (target === 'on') return succeeded('the machine is on: power on needs no action', { powerState: 'on' });
    // Software cannot cut power and restore it: power-cycle is a reboot, like reset.
    const step: Step = target === 'off' ? { command: 'systemctl', args: ['poweroff'] } : { command: 'systemctl', args: ['reboot'] };
    const what = target === 'off' ? 'power this machine off' : target === 'reset' ? 'reboot this machine' : 'power-cycle this machine (a reboot: software cannot cut the power)';
    if (!this.options.allowDisruptive) return dryRun(what, [commandLine(step.command, step.args)], NOT_ALLOWED);
    const r = await this.runSteps([step], progress, signal, 0, 100, false);
    return r ?? succeeded(`requested: ${what} (${commandLine(step.command, step.args)})`, { ran: [commandLine(step.command, step.args)], powerState: target === 'off' ? 'off' : 'on' });
  }

  private async applyConfig(c: AgentCommand): Promise<CommandResult> {
    const { version, config } = applyConfigParams(c);
    const file = path.join(this.options.dataDir, 'config.json');
    await mkdir(this.options.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ version, config, appliedAt: new Date().toISOString() }, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, file);
    return succeeded(`applied config version ${version} (written to ${file})`, { configVersion: version, file });
  }

  private async installImage(kind: 'install-os' | 'update-os', p: InstallOsParams, progress: Progress, signal: AbortSignal): Promise<CommandResult> {
    const name = p.profileName ? `${p.profileName}${p.profileVersion ? ` ${p.profileVersion}` : ''}` : (p.osId ?? p.imageUrl);
    const file = path.join(this.options.dataDir, 'images', `${p.sha256}.img`);
    const disk = this.options.targetDisk;
    const writeSteps: Step[] = [
      { command: 'dd', args: [`if=${file}`, `of=${disk ?? '<--target-disk>'}`, 'bs=4M', 'conv=fsync', 'oflag=direct', 'status=none'], phase: 'applying' },
      { command: 'systemctl', args: ['reboot'], phase: 'rebooting' },
    ];
    const writeLines = writeSteps.map((s) => commandLine(s.command, s.args));
    const ignored = p.kernelCommand ? { ignored: { kernelCommand: 'the linux executor writes the image as it is; it does not change the kernel command line' } } : {};
    if (!this.options.allowDisruptive) {
      return dryRun(`${kind === 'install-os' ? 'install' : 'update to'} ${name}`, [`download ${p.imageUrl} to ${file}`, `verify sha256 ${p.sha256}`, ...writeLines], NOT_ALLOWED, ignored);
    }
    progress(0, `downloading ${p.imageUrl}`);
    await this.download({ url: p.imageUrl, sha256: p.sha256, file, signal, progress: (pct, msg) => progress(Math.floor(pct * 0.9), msg) });
    await this.removeOtherImages(file);
    progress(90, 'verifying: the image matches its sha256');
    if (!disk) {
      return succeeded(`downloaded ${name} to ${file} and verified its sha256; did not write it: ${NO_DISK}`, { dryRun: true, downloaded: file, sha256: p.sha256, wouldRun: writeLines, ...ignored });
    }
    const r = await this.runSteps(writeSteps, progress, signal, 90, 100, false);
    return r ?? succeeded(`wrote ${name} to ${disk} and requested a reboot into it`, { ran: writeLines, sha256: p.sha256, ...ignored });
  }

  private async updateOs(c: AgentCommand, progress: Progress, signal: AbortSignal): Promise<CommandResult> {
    const p = updateOsParams(c);
    if (p.image) return this.installImage('update-os', p.image, progress, signal);
    if (p.kernelCommand && /["\\$`]/.test(p.kernelCommand)) {
      return failed(`update-os params.kernelCommand may not hold quotes, backslashes, $ or backticks (it goes into the boot loader's config): ${JSON.stringify(p.kernelCommand)}`, false);
    }
    const steps = this.packageSteps(p.packages, p.kernelCommand);
    if (!steps) return failed('update-os found neither apt-get nor dnf on this machine; the linux executor updates Debian/Ubuntu (apt) and Fedora/RHEL (dnf) systems, or immutable ones by image (imageUrl + sha256)', false);
    const lines = steps.map((s) => commandLine(s.command, s.args, s.env));
    const what = [p.packages ? `packages ${p.packages.join(', ')}` : undefined, p.kernelCommand ? `kernel command "${p.kernelCommand}"` : undefined].filter(Boolean).join(', ');
    if (!this.options.allowDisruptive) return dryRun(`update the OS${what ? ` (${what})` : ''}`, lines, NOT_ALLOWED);
    // A failed update (a mirror down, the package lock held) may well work later.
    const r = await this.runSteps(steps, progress, signal, 0, 100, true);
    return r ?? succeeded(`updated the OS: ${lines.join('; ')}`, { ran: lines });
  }

  /**
   * The apt or dnf plan, by phase: downloading (package metadata and files), applying (install or
   * upgrade; the kernel command line through the boot loader), verifying (the package database
   * is consistent, the packages asked for are installed). The new kernel command line takes
   * effect at the next reboot, which the plan leaves to the operator.
   */
  private packageSteps(packages?: string[], kernelCommand?: string): Step[] | undefined {
    // Options first, then `--`, then the names: nothing in the list can be read as an option.
    const list = packages ? ['--', ...packages] : [];
    if (this.hasCommand('apt-get')) {
      const env = { DEBIAN_FRONTEND: 'noninteractive' };
      const verb = packages ? ['install', '-y'] : ['upgrade', '-y'];
      return [
        { command: 'apt-get', args: ['update'], env, phase: 'downloading' },
        { command: 'apt-get', args: [...verb, '--download-only', ...list], env, phase: 'downloading' },
        { command: 'apt-get', args: [...verb, ...list], env, phase: 'applying' },
        ...(kernelCommand
          ? [
              { command: 'sed', args: ['-i', `s|^GRUB_CMDLINE_LINUX=.*|GRUB_CMDLINE_LINUX="${kernelCommand.replace(/[|&]/g, '\\$&')}"|`, '/etc/default/grub'], phase: 'applying' },
              { command: 'update-grub', args: [], phase: 'applying' },
            ]
          : []),
        { command: 'dpkg', args: ['--audit'], phase: 'verifying' },
        ...(packages ? [{ command: 'dpkg-query', args: ['-W', ...list], phase: 'verifying' }] : []),
      ];
    }
    if (this.hasCommand('dnf')) {
      const verb = packages ? ['install', '-y'] : ['upgrade', '-y'];
      return [
        { command: 'dnf', args: [...verb, '--downloadonly', ...list], phase: 'downloading' },
        { command: 'dnf', args: [...verb, ...list], phase: 'applying' },
        ...(kernelCommand ? [{ command: 'grubby', args: ['--update-kernel=ALL', `--args=${kernelCommand}`], phase: 'applying' }] : []),
        { command: 'dnf', args: ['check'], phase: 'verifying' },
        ...(packages ? [{ command: 'rpm', args: ['-q', ...list], phase: 'verifying' }] : []),
      ];
    }
    return undefined;
  }

  private async wipe(progress: Progress, signal: AbortSignal): Promise<CommandResult> {
    const disk = this.options.targetDisk;
    const step: Step = { command: 'wipefs', args: ['--all', '--force', disk ?? '<--target-disk>'] };
    const line = commandLine(step.command, step.args);
    if (!this.options.allowDisruptive) return dryRun('erase the partition table and file-system signatures of the target disk', [line], NOT_ALLOWED);
    if (!disk) return dryRun('erase the target disk', [line], NO_DISK);
    const r = await this.runSteps([step], progress, signal, 0, 100, false);
    return r ?? succeeded(`erased the partition table and file-system signatures of ${disk}`, { ran: [line] });
  }

  /** Runs steps in order; the first that fails gives the result (undefined: all succeeded). */
  private async runSteps(steps: Step[], progress: Progress, signal: AbortSignal, from: number, to: number, recoverable: boolean): Promise<CommandResult | undefined> {
    for (const [i, s] of steps.entries()) {
      const line = commandLine(s.command, s.args, s.env);
      progress(Math.round(from + ((to - from) * i) / steps.length), `${s.phase ? `${s.phase}: ` : ''}running ${line}`);
      let r;
      try {
        r = await this.exec(s.command, s.args, { signal, env: s.env });
      } catch (e) {
        if (signal.aborted) return failed(`stopped while running ${line}: the agent is stopping`, true);
        return failed(`could not run ${line}: ${(e as Error).message}`, false);
      }
      if (r.code !== 0) {
        const tail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
        return failed(`${line} exited with ${r.code}${tail ? `: ${tail}` : ''}`, recoverable, { failedStep: line, exitCode: r.code });
      }
    }
    return undefined;
  }

  private async removeOtherImages(keep: string): Promise<void> {
    const dir = path.dirname(keep);
    for (const f of await readdir(dir)) if (path.join(dir, f) !== keep) await rm(path.join(dir, f), { force: true });
  }
}

function dryRun(what: string, wouldRun: string[], why: string, extra: Record<string, unknown> = {}): CommandResult {
  return succeeded(`dry run: would ${what} by running: ${wouldRun.join('; ')}; ${why}`, { dryRun: true, wouldRun, ...extra });
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((dir) => {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
