/**
 * The network lab the fault soak runs in (test/harness/netns.ts): replicas on separate
 * namespaces reach each other over the peer net and the services over the service net;
 * cutting a replica's peer links leaves its service link working (the split-brain fault).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { type NetLab, createNetLab } from '../harness/netns';

/** Connects from namespace `ns` to addr:port; resolves with the server's greeting or the error. */
function probe(ns: string, addr: string, port: number, timeoutMs = 1500): Promise<string> {
  const script = `const s=require('net').connect(${port},'${addr}');s.setTimeout(${timeoutMs},()=>{console.log('timeout');process.exit(0)});s.on('data',d=>{console.log(String(d).trim());process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`;
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { timeout: timeoutMs + 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

/** A one-line TCP greeter inside namespace `ns`; resolves once it listens. */
function greeter(ns: string, addr: string, port: number, text: string): Promise<() => void> {
  const script = `require('net').createServer(s=>s.end('${text}\\n')).listen(${port},'${addr}',()=>console.log('up'))`;
  return new Promise((resolve, reject) => {
    const child = execFile('ip', ['netns', 'exec', ns, process.execPath, '-e', script]);
    child.stdout?.once('data', () => resolve(() => child.kill('SIGKILL')));
    child.once('exit', (code) => reject(new Error(`greeter in ${ns} exited ${code}`)));
  });
}

describe('network lab (namespaces, loopback-range addresses)', () => {
  let lab: NetLab;
  const stops: Array<() => void> = [];
  before(async () => {
    lab = createNetLab({ replicas: 3 });
    const r2 = lab.replicas[1]!;
    stops.push(await greeter(r2.ns, r2.peerAddr, 7001, 'peer-r2'));
    stops.push(await greeter(lab.svcNs, lab.svcAddr, 7002, 'svc'));
  });
  after(() => {
    for (const stop of stops) stop();
    lab?.destroy();
  });

  it('a replica reaches its peers over the peer net and the services over the service net', async () => {
    const r1 = lab.replicas[0]!;
    const r2 = lab.replicas[1]!;
    assert.equal(await probe(r1.ns, r2.peerAddr, 7001), 'peer-r2');
    assert.equal(await probe(r1.ns, lab.svcAddr, 7002), 'svc');
  });

  it('cutting the peer links black-holes peer traffic and keeps Kafka/Redis reachable; healing restores it', async () => {
    const r1 = lab.replicas[0]!;
    const r2 = lab.replicas[1]!;
    lab.cutPeers(0);
    assert.equal(await probe(r1.ns, r2.peerAddr, 7001), 'timeout');
    assert.equal(await probe(r1.ns, lab.svcAddr, 7002), 'svc');
    lab.healPeers(0);
    assert.equal(await probe(r1.ns, r2.peerAddr, 7001, 5000), 'peer-r2');
  });

  it('isolating a replica cuts both nets', async () => {
    const r3 = lab.replicas[2]!;
    lab.isolate(2);
    assert.equal(await probe(r3.ns, lab.svcAddr, 7002), 'timeout');
    lab.heal(2);
    assert.equal(await probe(r3.ns, lab.svcAddr, 7002, 5000), 'svc');
  });

  it('the machine loopback 127.0.0.1 of a namespace stays its own', async () => {
    // nothing listens on 127.0.0.1:7002 inside r1, although the svc namespace has 7002 on its address
    assert.equal(await probe(lab.replicas[0]!.ns, '127.0.0.1', 7002), 'ECONNREFUSED');
  });
});
