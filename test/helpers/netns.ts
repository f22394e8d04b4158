import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One simulated host: a network namespace with a veth link to a bridge in the root namespace. */
export interface NetnsHost {
  /** The namespace's name, also the host id its workers use. */
  name: string;
  /** Its address on the bridge. */
  address: string;
  /** The root-side end of its veth pair: taking it down cuts the host off. */
  rootLink: string;
}

/**
 * Hosts on one private bridge: the root namespace (where Redis, sshd and podman run) answers at
 * `gateway`; each host reaches it, and nothing else, through its own veth pair.
 */
export interface HostNetwork {
  gateway: string;
  hosts: NetnsHost[];
  /** Cuts the host off: its end of the link stays up, the root-side end goes down. Its processes keep running. */
  cut(host: NetnsHost): Promise<void>;
  restore(host: NetnsHost): Promise<void>;
  /** Deletes the namespaces, links and bridge; safe to call after a partial setup, and twice. */
  destroy(): Promise<void>;
}

const ip = (args: string[]) => run('ip', args);

/** Why the multi-host suites cannot run here, or undefined when `ip netns add` is permitted. */
export async function netnsSkipReason(): Promise<string | undefined> {
  const probe = `oca-probe-${randomBytes(3).toString('hex')}`;
  try {
    await ip(['netns', 'add', probe]);
  } catch (error) {
    const detail = String((error as { stderr?: string }).stderr ?? error).trim();
    return `the multi-host suite needs \`ip netns add\` (root and iproute2): ${detail}`;
  }
  await ip(['netns', 'del', probe]).catch(() => {});
  return undefined;
}

/**
 * Makes `count` namespaces named `oca-<random>-1…count` on a fresh bridge in 10.231.<x>.0/24 (x
 * chosen so no address on this machine is in it), each with `lo` up.
 */
export async function createHostNetwork(count: number): Promise<HostNetwork> {
  const tag = randomBytes(3).toString('hex');
  const bridge = `oca${tag}br`;
  const subnet = await freeSubnet();
  const gateway = `${subnet}.1`;
  const hosts: NetnsHost[] = [];
  const made = { bridge: false };
  const network: HostNetwork = {
    gateway,
    hosts,
    cut: async (host) => void (await ip(['link', 'set', host.rootLink, 'down'])),
    restore: async (host) => void (await ip(['link', 'set', host.rootLink, 'up'])),
    async destroy() {
      // Deleting a namespace deletes its veth end, and with it the root end.
      for (const host of hosts.splice(0)) await ip(['netns', 'del', host.name]).catch(() => {});
      if (made.bridge) await ip(['link', 'del', bridge]).catch(() => {});
      made.bridge = false;
    },
  };
  try {
    await ip(['link', 'add', bridge, 'type', 'bridge']);
    made.bridge = true;
    await ip(['addr', 'add', `${gateway}/24`, 'dev', bridge]);
    await ip(['link', 'set', bridge, 'up']);
    for (let n = 1; n <= count; n++) {
      const host: NetnsHost = { name: `oca-${tag}-${n}`, address: `${subnet}.${10 + n}`, rootLink: `oca${tag}r${n}` };
      const inner = `oca${tag}h${n}`;
      await ip(['netns', 'add', host.name]);
      hosts.push(host);
      await ip(['link', 'add', host.rootLink, 'type', 'veth', 'peer', 'name', inner]);
      await ip(['link', 'set', inner, 'netns', host.name]);
      await ip(['link', 'set', host.rootLink, 'master', bridge]);
      await ip(['link', 'set', host.rootLink, 'up']);
      await ip(['-n', host.name, 'addr', 'add', `${host.address}/24`, 'dev', inner]);
      await ip(['-n', host.name, 'link', 'set', inner, 'up']);
      await ip(['-n', host.name, 'link', 'set', 'lo', 'up']);
    }
    return network;
  } catch (error) {
    await network.destroy();
    throw error;
  }
}

// A 10.231.x prefix that no interface here has an address in (another run's bridge, say).
async function freeSubnet(): Promise<string> {
  const { stdout } = await ip(['-4', '-o', 'addr', 'show']);
  for (;;) {
    const candidate = `10.231.${randomBytes(1)[0]!}`;
    if (!stdout.includes(` ${candidate}.`)) return candidate;
  }
}
