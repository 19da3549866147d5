import { AliasNode, type CompiledQuery, FromNode, type OperationNode, TableNode } from 'kysely';

/** What a trace may say about a query: its operation and main table, never its values. */
export interface QuerySummary {
  /** SELECT, INSERT, UPDATE, DELETE; for raw SQL, its first keyword. */
  readonly operation: string;
  /** The table the statement reads or writes first, when it names one. */
  readonly table: string | undefined;
  /** "SELECT articles": the span name, as OpenTelemetry's db.query.summary. */
  readonly text: string;
}

const OPERATIONS: Readonly<Record<string, string>> = {
  SelectQueryNode: 'SELECT',
  InsertQueryNode: 'INSERT',
  UpdateQueryNode: 'UPDATE',
  DeleteQueryNode: 'DELETE',
  MergeQueryNode: 'MERGE',
};

/**
 * Names a query from the tree Kysely built it from. Values are bound as parameters, so
 * neither the operation nor the table name can carry a user's data.
 */
export function summariseQuery(query: CompiledQuery): QuerySummary {
  const node = query.query;
  const operation = OPERATIONS[node.kind] ?? firstKeyword(query.sql);
  const table = tableName(mainTableOf(node));
  return { operation, table, text: table === undefined ? operation : `${operation} ${table}` };
}

function mainTableOf(node: OperationNode): OperationNode | undefined {
  const fields = node as { from?: OperationNode; into?: OperationNode; table?: OperationNode };
  const from = fields.from !== undefined && FromNode.is(fields.from) ? fields.from.froms[0] : fields.from;
  return fields.into ?? fields.table ?? from;
}

function tableName(node: OperationNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (AliasNode.is(node)) return tableName(node.node);
  return TableNode.is(node) ? node.table.identifier.name : undefined;
}

/** Raw SQL (migrations, health checks): only the leading keyword, e.g. SELECT or WITH. */
function firstKeyword(sqlText: string): string {
  return /^\s*([a-z]+)/i.exec(sqlText)?.[1]?.toUpperCase() ?? 'SQL';
}
