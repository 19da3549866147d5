import { sql } from 'kysely';
import { dialectColumns, isPostgres, type MigrationDb } from './helpers.ts';

/** The Conduit domain: users, follows, articles with tags, favorites and comments. */
export async function up(db: MigrationDb): Promise<void> {
  const { timestamp, identity } = dialectColumns(db);

  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', identity)
    .addColumn('email', 'text', (column) => column.notNull())
    .addColumn('username', 'text', (column) => column.notNull())
    .addColumn('password_hash', 'text', (column) => column.notNull())
    .addColumn('bio', 'text')
    .addColumn('image', 'text')
    .addColumn('created_at', timestamp, (column) => column.notNull())
    .addColumn('updated_at', timestamp, (column) => column.notNull())
    .addUniqueConstraint('users_email_unique', ['email'])
    .addUniqueConstraint('users_username_unique', ['username'])
    .execute();
  // "Jake" and "jake" would be indistinguishable in a URL: refuse the second one.
  await db.schema
    .createIndex('users_username_lower_unique')
    .on('users')
    .unique()
    .expression(sql`lower(username)`)
    .execute();

  await db.schema
    .createTable('follows')
    .addColumn('follower_id', 'integer', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('followed_id', 'integer', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('follows_pkey', ['follower_id', 'followed_id'])
    .addCheckConstraint('follows_not_self', sql`follower_id <> followed_id`)
    .execute();
  await db.schema.createIndex('follows_followed_id_idx').on('follows').column('followed_id').execute();

  await db.schema
    .createTable('articles')
    .addColumn('id', 'integer', identity)
    .addColumn('slug', 'text', (column) => column.notNull())
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('description', 'text', (column) => column.notNull())
    .addColumn('author_id', 'integer', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', timestamp, (column) => column.notNull())
    .addColumn('updated_at', timestamp, (column) => column.notNull())
    // Read-side copies so a page of articles is one cheap statement: the sorted tag names as a
    // JSON array (article_tags stays the truth for filtering) and the number of favorites
    // (kept exact by the triggers below, whatever deletes a favorite).
    .addColumn('tag_list', 'text', (column) => column.notNull().defaultTo('[]'))
    .addColumn('favorites_count', 'integer', (column) => column.notNull().defaultTo(0))
    // Last: SQLite reads a row's columns in order, and lists never need the 1-2 KB body.
    .addColumn('body', 'text', (column) => column.notNull())
    .addUniqueConstraint('articles_slug_unique', ['slug'])
    .execute();
  // Serves ?author= and the feed, newest first.
  await db.schema.createIndex('articles_author_id_id_idx').on('articles').columns(['author_id', 'id']).execute();

  await db.schema
    .createTable('tags')
    .addColumn('id', 'integer', identity)
    .addColumn('name', 'text', (column) => column.notNull())
    .addUniqueConstraint('tags_name_unique', ['name'])
    .execute();

  await db.schema
    .createTable('article_tags')
    .addColumn('article_id', 'integer', (column) => column.notNull().references('articles.id').onDelete('cascade'))
    .addColumn('tag_id', 'integer', (column) => column.notNull().references('tags.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('article_tags_pkey', ['article_id', 'tag_id'])
    .execute();
  // Serves ?tag= and the list of tags in use.
  await db.schema.createIndex('article_tags_tag_id_article_id_idx').on('article_tags').columns(['tag_id', 'article_id']).execute();

  await db.schema
    .createTable('favorites')
    .addColumn('user_id', 'integer', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('article_id', 'integer', (column) => column.notNull().references('articles.id').onDelete('cascade'))
    .addColumn('created_at', timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('favorites_pkey', ['user_id', 'article_id'])
    .execute();
  // Serves the count triggers and cascades; the primary key serves ?favorited= and "favorited".
  await db.schema.createIndex('favorites_article_id_idx').on('favorites').column('article_id').execute();
  await createFavoritesCountTriggers(db);

  await db.schema
    .createTable('comments')
    .addColumn('id', 'integer', identity)
    .addColumn('article_id', 'integer', (column) => column.notNull().references('articles.id').onDelete('cascade'))
    .addColumn('author_id', 'integer', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', timestamp, (column) => column.notNull())
    .addColumn('updated_at', timestamp, (column) => column.notNull())
    .addColumn('body', 'text', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('comments_article_id_id_idx').on('comments').columns(['article_id', 'id']).execute();
  await db.schema.createIndex('comments_author_id_idx').on('comments').column('author_id').execute();
}

async function createFavoritesCountTriggers(db: MigrationDb): Promise<void> {
  if (isPostgres(db)) {
    await sql`
      create function favorites_count_follows() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          update articles set favorites_count = favorites_count + 1 where id = new.article_id;
        else
          update articles set favorites_count = favorites_count - 1 where id = old.article_id;
        end if;
        return null;
      end $$`.execute(db);
    await sql`
      create trigger favorites_count after insert or delete on favorites
      for each row execute function favorites_count_follows()`.execute(db);
    return;
  }
  await sql`
    create trigger favorites_count_insert after insert on favorites begin
      update articles set favorites_count = favorites_count + 1 where id = new.article_id;
    end`.execute(db);
  await sql`
    create trigger favorites_count_delete after delete on favorites begin
      update articles set favorites_count = favorites_count - 1 where id = old.article_id;
    end`.execute(db);
}

export async function down(db: MigrationDb): Promise<void> {
  if (isPostgres(db)) await sql`drop function if exists favorites_count_follows cascade`.execute(db);
  for (const table of ['comments', 'favorites', 'article_tags', 'tags', 'articles', 'follows', 'users']) {
    await db.schema.dropTable(table).execute();
  }
}
