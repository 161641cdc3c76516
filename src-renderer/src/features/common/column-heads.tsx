// The header row of a list table: one column header per entry. A null entry is a column
// without a visible title (row actions), named for screen readers only.
import type { ReactNode } from 'react';

export function ColumnHeads({ columns, actions }: { columns: ReactNode[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) => (
          <th scope="col" key={i}>
            {c}
          </th>
        ))}
        {actions && (
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        )}
      </tr>
    </thead>
  );
}
