import type { Generated } from 'kysely';

/**
 * The tables as Kysely sees them. Timestamps are ISO 8601 strings with milliseconds and `Z`
 * on both databases: SQLite stores them as text, PostgreSQL as timestamptz read back as text
 * (see database.ts), so every feature handles one representation.
 */
export interface Database {
  users: UsersTable;
  follows: FollowsTable;
  articles: ArticlesTable;
  tags: TagsTable;
  article_tags: ArticleTagsTable;
  favorites: FavoritesTable;
  comments: CommentsTable;
  sessions: SessionsTable;
  images: ImagesTable;
  audit_log: AuditLogTable;
  sign_in_failures: SignInFailuresTable;
  request_counters: RequestCountersTable;
  counters: CountersTable;
}

export interface UsersTable {
  id: Generated<number>;
  email: string;
  username: string;
  password_hash: string;
  bio: string | null;
  image: string | null;
  created_at: string;
  updated_at: string;
  role: Generated<'user' | 'admin'>;
  disabled_at: string | null;
  /** Raised whenever the password changes: tokens and sessions from before stop working. */
  credentials_version: Generated<number>;
  /** Articles by this user; kept by triggers. */
  articles_count: Generated<number>;
  /** Articles this user favorited; kept by triggers. */
  favorites_given_count: Generated<number>;
}

export interface FollowsTable {
  follower_id: number;
  followed_id: number;
  created_at: string;
}

export interface ArticlesTable {
  id: Generated<number>;
  slug: string;
  title: string;
  description: string;
  body: string;
  author_id: number;
  created_at: string;
  updated_at: string;
  /** Sorted tag names as a JSON array; article_tags is the truth, this is the read copy. */
  tag_list: Generated<string>;
  /** Kept by triggers on favorites. */
  favorites_count: Generated<number>;
}

export interface TagsTable {
  id: Generated<number>;
  name: string;
  /** Articles carrying this tag; kept by triggers. */
  articles_count: Generated<number>;
}

/** Named totals kept by triggers: 'articles' counts every article. */
export interface CountersTable {
  name: string;
  value: number;
}

export interface ArticleTagsTable {
  article_id: number;
  tag_id: number;
}

export interface FavoritesTable {
  user_id: number;
  article_id: number;
  created_at: string;
}

export interface CommentsTable {
  id: Generated<number>;
  article_id: number;
  author_id: number;
  body: string;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  id: string;
  user_id: number | null;
  /** The session as JSON. */
  data: string;
  /** Epoch milliseconds. */
  expires_at: number;
  absolute_expires_at: number;
}

export interface ImagesTable {
  /** sha256 of the bytes, hex: the image's name in /images/<hash>. */
  hash: string;
  content_type: string;
  size: number;
  uploaded_by: number | null;
  created_at: string;
  data: Buffer;
}

export interface AuditLogTable {
  id: Generated<number>;
  actor_id: number | null;
  actor_username: string;
  action: string;
  target: string;
  detail: string | null;
  created_at: string;
}

export interface SignInFailuresTable {
  key: string;
  failures: number;
  /** Epoch milliseconds. */
  window_ends_at: number;
}

export interface RequestCountersTable {
  /** `user:<id>` or `address:<ip>`. */
  key: string;
  hits: number;
  /** Epoch milliseconds. */
  window_ends_at: number;
}
