import type { FastifyInstance } from 'fastify';
import adminPages from './features/admin/pages.ts';
import articlesRoutes from './features/articles/routes.ts';
import commentsRoutes from './features/comments/routes.ts';
import imagesRoutes from './features/images/routes.ts';
import profilesRoutes from './features/profiles/routes.ts';
import tagsRoutes from './features/tags/routes.ts';
import usersRoutes from './features/users/routes.ts';
import articlePages from './features/web/articles.ts';
import authPages from './features/web/auth.ts';
import browsePages from './features/web/browse.ts';
import webScope from './features/web/scope.ts';
import settingsPages from './features/web/settings.ts';
import { jsonNotFound } from './plugins/app/errors.ts';
import staticAssets from './plugins/external/static-assets.ts';
import type { ConfigWithSecrets } from './secrets.ts';

/**
 * The route table: every URL prefix the app serves and the feature folder that serves it.
 *
 * | Prefix | Served by | Who may call |
 * | --- | --- | --- |
 * | `/healthz` `/readyz` `/version` | plugins/app/health.ts (registered in app.ts) | anyone |
 * | `/metrics` | plugins/app/metrics.ts (or METRICS_PORT) | anyone who can reach it |
 * | `/api/openapi.json` `/docs` | plugins/external/openapi.ts | anyone |
 * | `/assets` | plugins/external/static-assets.ts | anyone |
 * | `/images` | features/images | anyone |
 * | `/api/users` `/api/user` | features/users | API scope: a token, unless a route declares `access` |
 * | `/api/profiles` | features/profiles | API scope |
 * | `/api/articles` | features/articles, and `/:slug/comments` features/comments | API scope |
 * | `/api/tags` | features/tags | API scope |
 * | `/` (pages and forms) | features/web | web scope: a session unless a route declares `access`; CSRF on every post |
 * | `/admin` | features/admin | web scope, admins only |
 */
export default async function routes(app: FastifyInstance, options: { config: ConfigWithSecrets }): Promise<void> {
  const { config } = options;
  await app.register(staticAssets);
  await app.register(imagesRoutes);

  await app.register(
    async (api) => {
      api.setNotFoundHandler(jsonNotFound);
      // Deny by default: every API route needs a token unless it declares `config.access`.
      api.addHook('onRequest', api.authenticateByRoute);
      await api.register(usersRoutes);
      await api.register(profilesRoutes);
      await api.register(articlesRoutes);
      await api.register(commentsRoutes);
      await api.register(tagsRoutes);
    },
    { prefix: '/api' },
  );

  await app.register(async (web) => {
    await web.register(webScope, { config });
    await web.register(browsePages);
    await web.register(authPages, { secureCookies: config.cookieSecure });
    await web.register(articlePages);
    await web.register(settingsPages, { uploadLimitBytes: config.uploadLimitBytes });
    await web.register(adminPages, { prefix: '/admin' });
  });
}
