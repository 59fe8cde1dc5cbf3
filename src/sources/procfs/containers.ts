/**
 * Which container a process runs in, from its cgroup path (/proc/PID/cgroup): container
 * runtimes name the cgroup after the container. cgroup v2 has one line "0::PATH"; v1 has one
 * per controller, and the same path in each. Recognised (the runtimes' own naming):
 *   docker:   .../docker-<64 hex>.scope (systemd driver), /docker/<64 hex> (cgroupfs driver)
 *   k8s:      .../kubepods.../<runtime>-<64 hex>.scope or /kubepods/.../<64 hex>
 *   podman:   .../libpod-<64 hex>.scope, /libpod_parent/libpod-<64 hex>
 *   containerd, crio: .../cri-containerd-<64 hex>.scope, .../crio-<64 hex>.scope
 *   lxc:      /lxc.payload.NAME/..., /lxc/NAME
 * The id is shortened to 12 characters, as `docker ps` prints it.
 */
import { readFileSync } from 'node:fs';

const HEX_ID = /([0-9a-f]{64})/;

export function containerFromCgroup(text: string): string | null {
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    if (path === '' || path === '/') continue;
    const lxc = /\/lxc(?:\.payload\.|\/)([^/]+)/.exec(path);
    if (lxc !== null) return `lxc:${lxc[1]}`;
    const id = HEX_ID.exec(path)?.[1];
    if (id === undefined) continue;
    const short = id.slice(0, 12);
    if (path.includes('kubepods')) return `k8s:${short}`;
    if (/libpod/.test(path)) return `podman:${short}`;
    if (/docker/.test(path)) return `docker:${short}`;
    if (/cri-containerd|containerd/.test(path)) return `containerd:${short}`;
    if (/crio/.test(path)) return `crio:${short}`;
    return `container:${short}`;
  }
  return null;
}

export function readContainer(pid: number, procRoot = '/proc'): string | null {
  try {
    return containerFromCgroup(readFileSync(`${procRoot}/${pid}/cgroup`, 'utf8'));
  } catch {
    return null;
  }
}
