import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { Mount } from './mounts';

/**
 * The bubblewrap command line that runs a container's process: a root
 * on tmpfs (so any mountPath can be created) with the host's /usr and
 * /etc read-only, private /proc, /dev and /tmp, the pod's volumes bound at
 * their mount paths, its own PID namespace (killing bwrap kills every
 * process of the exec) and the container's environment only.
 */
export function bwrapArgs(options: { hostname: string; mounts: Mount[]; env: Record<string, string>; workingDir?: string; command: string[] }): string[] {
  const args = ['--die-with-parent', '--unshare-pid', '--unshare-uts', '--hostname', options.hostname, '--tmpfs', '/', '--ro-bind', '/usr', '/usr'];
  for (const [link, target] of [
    ['/bin', 'usr/bin'],
    ['/sbin', 'usr/sbin'],
    ['/lib', 'usr/lib'],
    ['/lib64', 'usr/lib64'],
    ['/lib32', 'usr/lib32'],
  ]) {
    if (existsSync(`/${target}`)) args.push('--symlink', target, link);
  }
  args.push(...etcArgs(options.mounts));
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--dir', '/root', '--dir', '/var/tmp');
  const wd = options.workingDir;
  if (wd && wd !== '/' && !/^\/(usr|etc|proc|dev)(\/|$)/.test(wd)) args.push('--dir', wd);
  for (const m of options.mounts) args.push(m.readOnly ? '--ro-bind' : '--bind', m.hostPath, m.mountPath);
  args.push('--clearenv');
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    HOSTNAME: options.hostname,
    ...options.env,
  };
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  args.push('--chdir', options.workingDir || '/', '--');
  args.push(...options.command);
  return args;
}

/**
 * /etc read-only from the host. A volume mounted below /etc (nginx's
 * conf.d, say) needs a writable parent to create its mount point, so then
 * /etc is a tmpfs directory with each host entry bound into it, except the
 * entries the volumes replace.
 */
function etcArgs(mounts: Mount[]): string[] {
  const under = mounts.filter((m) => m.mountPath.startsWith('/etc/'));
  if (under.length === 0) return ['--ro-bind', '/etc', '/etc'];
  const replaced = new Set(under.map((m) => m.mountPath.split('/')[2]));
  const args = ['--dir', '/etc'];
  for (const name of readdirSync('/etc')) {
    if (replaced.has(name)) continue;
    const host = `/etc/${name}`;
    const st = lstatSync(host);
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(host), host);
    else args.push('--ro-bind-try', host, host);
  }
  return args;
}
