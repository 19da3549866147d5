import { sql } from 'kysely';
import { isPostgres, type MigrationDb } from './helpers.ts';

/**
 * The counts article lists return (`articlesCount`), kept instead of recounted per request:
 * counting the matches of a list costs a scan of every match, 200,000 rows for the global list.
 * Triggers keep them in the same transaction as the write, whatever makes it (the API, a
 * cascade from a deleted user, an operator's SQL), so they stay exact:
 *   - counters('articles'): every article (the global list);
 *   - users.articles_count: articles by that author (?author=, and the feed as a sum);
 *   - users.favorites_given_count: articles that user favorited (?favorited=);
 *   - tags.articles_count: articles carrying that tag (?tag=, and the tags in use).
 * Expand-only: older code ignores the new columns and table, and its writes still fire the triggers.
 */
export async function up(db: MigrationDb): Promise<void> {
  await db.schema.createTable('counters')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('value', 'integer', (column) => column.notNull())
    .execute();
  await db.schema.alterTable('users').addColumn('articles_count', 'integer', (column) => column.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('users').addColumn('favorites_given_count', 'integer', (column) => column.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('tags').addColumn('articles_count', 'integer', (column) => column.notNull().defaultTo(0)).execute();
  await (isPostgres(db) ? createPostgresTriggers(db) : createSqliteTriggers(db));
  await recountArticleListCounters(db);
}

/**
 * Sets every counter from the rows themselves, one statement each. After a bulk load that ran
 * without triggers, and as this migration's backfill (on PostgreSQL it runs in the migration's
 * transaction, after the triggers exist, so no write slips between the two).
 */
export async function recountArticleListCounters(db: MigrationDb): Promise<void> {
  await sql`delete from counters where name = 'articles'`.execute(db);
  await sql`insert into counters (name, value) select 'articles', count(*) from articles`.execute(db);
  await sql`update users set
    articles_count = (select count(*) from articles a where a.author_id = users.id),
    favorites_given_count = (select count(*) from favorites f where f.user_id = users.id)`.execute(db);
  await sql`update tags set articles_count = (select count(*) from article_tags t where t.tag_id = tags.id)`.execute(db);
}

async function createSqliteTriggers(db: MigrationDb): Promise<void> {
  await sql`
    create trigger articles_counted_insert after insert on articles begin
      update counters set value = value + 1 where name = 'articles';
      update users set articles_count = articles_count + 1 where id = new.author_id;
    end`.execute(db);
  await sql`
    create trigger articles_counted_delete after delete on articles begin
      update counters set value = value - 1 where name = 'articles';
      update users set articles_count = articles_count - 1 where id = old.author_id;
    end`.execute(db);
  await sql`
    create trigger articles_counted_author after update of author_id on articles begin
      update users set articles_count = articles_count - 1 where id = old.author_id;
      update users set articles_count = articles_count + 1 where id = new.author_id;
    end`.execute(db);
  await sql`
    create trigger article_tags_counted_insert after insert on article_tags begin
      update tags set articles_count = articles_count + 1 where id = new.tag_id;
    end`.execute(db);
  await sql`
    create trigger article_tags_counted_delete after delete on article_tags begin
      update tags set articles_count = articles_count - 1 where id = old.tag_id;
    end`.execute(db);
  await sql`
    create trigger favorites_given_insert after insert on favorites begin
      update users set favorites_given_count = favorites_given_count + 1 where id = new.user_id;
    end`.execute(db);
  await sql`
    create trigger favorites_given_delete after delete on favorites begin
      update users set favorites_given_count = favorites_given_count - 1 where id = old.user_id;
    end`.execute(db);
}

async function createPostgresTriggers(db: MigrationDb): Promise<void> {
  await sql`
    create function articles_counted() returns trigger language plpgsql as $$
    begin
      if tg_op in ('INSERT', 'UPDATE') then
        update users set articles_count = articles_count + 1 where id = new.author_id;
      end if;
      if tg_op in ('DELETE', 'UPDATE') then
        update users set articles_count = articles_count - 1 where id = old.author_id;
      end if;
      if tg_op = 'INSERT' then
        update counters set value = value + 1 where name = 'articles';
      elsif tg_op = 'DELETE' then
        update counters set value = value - 1 where name = 'articles';
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger articles_counted after insert or delete or update of author_id on articles
    for each row execute function articles_counted()`.execute(db);
  await sql`
    create function article_tags_counted() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update tags set articles_count = articles_count + 1 where id = new.tag_id;
      else
        update tags set articles_count = articles_count - 1 where id = old.tag_id;
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger article_tags_counted after insert or delete on article_tags
    for each row execute function article_tags_counted()`.execute(db);
  await sql`
    create function favorites_given_counted() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update users set favorites_given_count = favorites_given_count + 1 where id = new.user_id;
      else
        update users set favorites_given_count = favorites_given_count - 1 where id = old.user_id;
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger favorites_given_counted after insert or delete on favorites
    for each row execute function favorites_given_counted()`.execute(db);
}

export async function down(db: MigrationDb): Promise<void> {
  if (isPostgres(db)) {
    for (const name of ['articles_counted', 'article_tags_counted', 'favorites_given_counted']) {
      await sql`drop function if exists ${sql.raw(name)} cascade`.execute(db);
    }
  } else {
    for (const name of ['articles_counted_insert', 'articles_counted_delete', 'articles_counted_author', 'article_tags_counted_insert', 'article_tags_counted_delete', 'favorites_given_insert', 'favorites_given_delete']) {
      await sql`drop trigger if exists ${sql.raw(name)}`.execute(db);
    }
  }
  await db.schema.alterTable('tags').dropColumn('articles_count').execute();
  await db.schema.alterTable('users').dropColumn('favorites_given_count').execute();
  await db.schema.alterTable('users').dropColumn('articles_count').execute();
  await db.schema.dropTable('counters').execute();
}
