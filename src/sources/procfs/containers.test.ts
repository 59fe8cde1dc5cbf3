import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerFromCgroup } from './containers.js';

const ID = '3f2a9c0d5e6b7a8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708';

test('container runtimes are recognised from the cgroup path they give their containers', () => {
  assert.equal(containerFromCgroup(`0::/system.slice/docker-${ID}.scope\n`), 'docker:3f2a9c0d5e6b');
  assert.equal(containerFromCgroup(`12:pids:/docker/${ID}\n11:cpu:/docker/${ID}\n`), 'docker:3f2a9c0d5e6b');
  assert.equal(containerFromCgroup(`0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-${ID}.scope\n`), 'k8s:3f2a9c0d5e6b');
  assert.equal(containerFromCgroup(`0::/machine.slice/libpod-${ID}.scope/container\n`), 'podman:3f2a9c0d5e6b');
  assert.equal(containerFromCgroup(`0::/system.slice/crio-${ID}.scope\n`), 'crio:3f2a9c0d5e6b');
  assert.equal(containerFromCgroup('0::/lxc.payload.web1/init.scope\n'), 'lxc:web1');
  assert.equal(containerFromCgroup('0::/user.slice/user-1000.slice/session-2.scope\n'), null);
  assert.equal(containerFromCgroup('0::/\n'), null);
});
