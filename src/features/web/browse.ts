import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { UsernameParams } from '../profiles/schemas.ts';
import { FormBase, PAGE_SIZE, PageQuery, pageHref, paginate, viewerOf } from './support.ts';
import { localRedirectTarget } from '../../lib/redirect-target.ts';
import { chartStart, countByWeek, weeklyChart } from './charts.ts';

/** How many weeks the dashboard's activity charts cover, this one included. */
const CHART_WEEKS = 8;

const HomeQuery = Type.Object({
  ...PageQuery.properties,
  feed: Type.Optional(Type.Union([Type.Literal('yours'), Type.Literal('global')])),
  tag: Type.Optional(Type.String({ maxLength: 40 })),
});

/** Reading: the home feeds, profiles and the signed-in user's dashboard. */
/** How many tags the home page's "Popular tags" shows. */
const POPULAR_TAGS = 20;

export default function browsePages(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { articles, activity, dashboard, tags, profiles } = app.repositories;

  app.get('/', { config: { access: 'public' }, schema: { hide: true, querystring: HomeQuery } }, async (request, reply) => {
    const viewer = request.viewer;
    const page = request.query.page ?? 1;
    const tag = request.query.tag?.trim() || undefined;
    const feed = viewer !== null && request.query.feed === 'yours' && tag === undefined ? 'yours' : 'global';
    const filter = feed === 'yours' ? { followedBy: viewer!.id } : { tag };
    const [list, tagNames] = await Promise.all([
      articles.list(filter, { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }, viewer?.id ?? null),
      tags.popular(POPULAR_TAGS),
    ]);
    const params = { feed: feed === 'yours' ? 'yours' : undefined, tag };
    return reply.page('pages/home', {
      title: tag ? `#${tag}` : 'Home',
      nav: 'home',
      feed,
      tag,
      tags: tagNames,
      articles: list.articles,
      pagination: paginate(page, list.articlesCount, PAGE_SIZE, (number) => pageHref('/', params, number)),
    });
  });

  for (const tab of ['articles', 'favorites'] as const) {
    const path = tab === 'articles' ? '/profile/:username' : '/profile/:username/favorites';
    app.get(path, { config: { access: 'public' }, schema: { hide: true, params: UsernameParams, querystring: PageQuery } }, async (request, reply) => {
      const viewerId = request.viewer?.id ?? null;
      const profile = await profiles.get(request.params.username, viewerId);
      const page = request.query.page ?? 1;
      const filter = tab === 'articles' ? { author: profile.username } : { favorited: profile.username };
      const list = await articles.list(filter, { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }, viewerId);
      const base = `/profile/${encodeURIComponent(profile.username)}${tab === 'favorites' ? '/favorites' : ''}`;
      return reply.page('pages/profile', {
        title: profile.username,
        nav: request.viewer?.username === profile.username ? 'profile' : undefined,
        tab,
        profile,
        articles: list.articles,
        pagination: paginate(page, list.articlesCount, PAGE_SIZE, (number) => pageHref(base, {}, number)),
      });
    });
  }

  for (const action of ['follow', 'unfollow'] as const) {
    app.post(`/profile/:username/${action}`, {
      schema: { hide: true, params: UsernameParams, body: Type.Object(FormBase) },
    }, async (request, reply) => {
      const viewer = viewerOf(request);
      const profile = action === 'follow'
        ? await profiles.follow(viewer.id, request.params.username)
        : await profiles.unfollow(viewer.id, request.params.username);
      reply.flash('success', action === 'follow' ? `You follow ${profile.username}.` : `You no longer follow ${profile.username}.`);
      return reply.redirect(localRedirectTarget(request.body.back, `/profile/${encodeURIComponent(profile.username)}`), 303);
    });
  }

  app.get('/dashboard', { schema: { hide: true, querystring: PageQuery } }, async (request, reply) => {
    const viewer = viewerOf(request);
    const page = request.query.page ?? 1;
    const now = new Date();
    const [stats, follows, mine, received] = await Promise.all([
      dashboard.authorStats(viewer.id),
      profiles.followCounts(viewer.id),
      dashboard.authorDashboard(viewer.id, { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }),
      activity.receivedSince(viewer.id, chartStart(now, CHART_WEEKS)),
    ]);
    return reply.page('pages/dashboard', {
      title: 'Dashboard',
      nav: 'dashboard',
      stats: { ...stats, ...follows },
      charts: [
        { id: 'favorites-chart', title: `Favorites received, last ${CHART_WEEKS} weeks`, noun: ['favorite', 'favorites'], chart: weeklyChart(countByWeek(received.favorites, now, CHART_WEEKS)) },
        { id: 'comments-chart', title: `Comments received, last ${CHART_WEEKS} weeks`, noun: ['comment', 'comments'], chart: weeklyChart(countByWeek(received.comments, now, CHART_WEEKS)) },
      ],
      articles: mine,
      pagination: paginate(page, stats.articles, PAGE_SIZE, (number) => pageHref('/dashboard', {}, number)),
    });
  });
}
