/**
 * The leader's KRaft controller quorum series (docs/design.md §4.7, §7.4
 * `vigil_controller_quorum_*`), rebuilt every cycle from the snapshot and detect's view of
 * the voters, so metrics, status and pages agree on which voter lags and by how much.
 *
 * What was not measured is not exported: no quorum series while Kafka is unreachable or the
 * cluster has no KRaft quorum; only `vigil_controller_quorum_observable 0` while Kafka
 * refuses vigil DescribeQuorum or speaks no version of it that vigil does; only `vigil_controller_quorum_leader_id -1` while the quorum
 * has no leader or cannot be described (ControllerQuorumLeaderless).
 */
import { type Metrics, quorumGauges } from '../metrics';
import type { QuorumView } from './quorum';
import type { KafkaSnapshot } from './snapshot';

export function recordQuorumMetrics(m: Metrics, snapshot: KafkaSnapshot, view: QuorumView | null): void {
  const { labelled, unlabelled } = quorumGauges(m);
  for (const g of labelled) g.reset();
  for (const g of unlabelled) g.remove();
  if (!snapshot.ok) return;
  const q = snapshot.quorum;
  if (q.state === 'unobservable') {
    if (q.cause !== 'not-kraft') m.controllerQuorumObservable.set(0);
    return;
  }
  m.controllerQuorumObservable.set(1);
  if (view === null) {
    m.controllerQuorumLeaderId.set(-1);
    return;
  }
  m.controllerQuorumLeaderId.set(view.leaderId);
  m.controllerQuorumLeaderEpoch.set(view.leaderEpoch);
  m.controllerQuorumVoters.set(view.voters.length);
  m.controllerQuorumVotersCaughtUp.set(view.caughtUp);
  for (const v of view.voters) {
    const voter = String(v.nodeId);
    if (v.lagRecords !== null) m.controllerQuorumVoterLagRecords.set({ voter }, v.lagRecords);
    m.controllerQuorumVoterLagSeconds.set({ voter }, v.lagMs / 1000);
  }
}
