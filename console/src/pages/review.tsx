/** Review queue: INCONCLUSIVE checks oldest first, each approved or rejected with a required note. */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '../api';
import { ConsoleReviewCheckDocument, ConsoleReviewQueueDocument, type ReviewDecision } from '../generated/graphql';
import { TenantSelect } from '../fields';
import { Link } from '../router';
import { ErrorNote, fmtDate, fmtFmr, fmtNum, Loading, PageTitle, ReasonChips } from '../ui';

const PAGE = 10;

export function ReviewPage() {
  const [tenantId, setTenantId] = useState('');
  const [after, setAfter] = useState<Array<string | undefined>>([undefined]);
  const [done, setDone] = useState<string | null>(null);
  const q = useQuery(ConsoleReviewQueueDocument, { first: PAGE, tenantId: tenantId || undefined, after: after[after.length - 1] });
  const page = q.data?.reviewQueue;
  return (
    <>
      <PageTitle>Review queue</PageTitle>
      <p className="muted">INCONCLUSIVE checks no one has reviewed, oldest first. A review keeps the automated status and sets the final one.</p>
      <TenantSelect
        inline
        none="all"
        value={tenantId}
        onChange={(id) => {
          setTenantId(id);
          setAfter([undefined]);
        }}
      />
      <p role="status" className="live">
        {done}
      </p>
      <ErrorNote error={q.error} />
      {q.loading && !page ? <Loading what="the queue" /> : null}
      {page && page.edges.length === 0 ? <p>Nothing to review.</p> : null}
      <ol className="queue">
        {page?.edges.map(({ node: c }) => (
          <li key={c.id} className="panel" aria-labelledby={`q-${c.id}`}>
            <h2 id={`q-${c.id}`}>
              <Link to={`/checks/${c.id}`}>Check {c.id.slice(0, 8)}</Link> · {c.tenant?.name} · {fmtDate(c.createdAt)}
            </h2>
            <p>
              {c.kind}
              {c.referenceId ? ` · reference ${c.referenceId}` : ''} · <ReasonChips reasons={c.reasons} />
            </p>
            <p>
              {c.faceMatch
                ? `Match (${c.faceMatch.provider}): FMR ${fmtFmr(c.faceMatch.fmr)} vs accept ≤ ${fmtFmr(c.faceMatch.threshold)}, level ${c.faceMatch.matchLevel}, ${c.faceMatch.fmrSource.toLowerCase()} table. `
                : 'No match score. '}
              {c.liveness ? `Liveness (${c.liveness.provider}): ${fmtNum(c.liveness.score)} vs ≥ ${fmtNum(c.liveness.threshold, 2)}.` : 'No liveness score.'}
            </p>
            <ReviewForm
              id={c.id}
              onDone={(decision) => {
                setDone(`Check ${c.id.slice(0, 8)} ${decision === 'ACCEPT' ? 'approved' : 'rejected'}.`);
                q.reload();
              }}
            />
          </li>
        ))}
      </ol>
      {page?.pageInfo.hasNextPage ? (
        <button type="button" className="secondary" onClick={() => setAfter([...after, page.pageInfo.endCursor ?? undefined])}>
          Next page
        </button>
      ) : null}
    </>
  );
}

/** Approve or reject with a note (required; the server refuses an empty one too). */
export function ReviewForm({ id, onDone }: { id: string; onDone(decision: ReviewDecision): void }) {
  const [note, setNote] = useState('');
  const [decision, setDecision] = useState<ReviewDecision | null>(null);
  const review = useMutation(ConsoleReviewCheckDocument);
  const noteId = `note-${id}`;
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!decision) return;
    if (await review.run({ id, decision, note: note.trim() })) onDone(decision);
  }
  return (
    <form onSubmit={submit} className="review-form">
      <label htmlFor={noteId}>Note (required: what you checked)</label>
      <textarea id={noteId} required maxLength={2000} rows={2} value={note} onChange={(e) => setNote(e.target.value)} />
      <div className="actions">
        <button type="submit" className="approve" disabled={review.running || note.trim() === ''} onClick={() => setDecision('ACCEPT')}>
          Approve
        </button>
        <button type="submit" className="reject" disabled={review.running || note.trim() === ''} onClick={() => setDecision('REJECT')}>
          Reject
        </button>
      </div>
      <ErrorNote error={review.error} />
    </form>
  );
}
