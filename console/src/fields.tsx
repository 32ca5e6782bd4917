/** Form fields several pages share: the tenant chooser and a range of UTC days. */
import { useQuery } from './api';
import { ConsoleTenantsDocument } from './generated/graphql';

export const useTenants = () => useQuery(ConsoleTenantsDocument, {});

/** A tenant by name; `none` is the empty choice ("any", "all", "choose a tenant…"). */
export function TenantSelect({ value, onChange, none, inline }: { value: string; onChange(id: string): void; none: string; inline?: boolean }) {
  const tenants = useTenants();
  return (
    <label className={inline ? 'inline' : undefined}>
      Tenant
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{none}</option>
        {tenants.data?.tenants.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** From and to as `YYYY-MM-DD` UTC days, both inclusive. */
export function DayRange({ from, to, onFrom, onTo }: { from: string; to: string; onFrom(day: string): void; onTo(day: string): void }) {
  return (
    <>
      <label>
        From (UTC day)
        <input type="date" value={from} onChange={(e) => onFrom(e.target.value)} />
      </label>
      <label>
        To (UTC day, inclusive)
        <input type="date" value={to} onChange={(e) => onTo(e.target.value)} />
      </label>
    </>
  );
}
