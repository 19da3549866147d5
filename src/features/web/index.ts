import type { FastifyInstance } from 'fastify';
import type { ConfigWithSecrets } from '../../secrets.ts';
import sessionsPlugin from '../../plugins/sessions.ts';
import webPlugin from '../../plugins/web.ts';
import adminPages from '../admin/routes.ts';
import articlePages from './articles.ts';
import authPages from './auth.ts';
import browsePages from './browse.ts';
import settingsPages from './settings.ts';
import { requireViewer } from './support.ts';

/** Methods that change nothing, so need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The server-rendered web application, in its own context: sessions, CSRF, forms and HTML
 * errors apply here and nowhere else. Pages call the same domain services as the JSON API.
 */
export default async function webApplication(web: FastifyInstance, options: { config: ConfigWithSecrets }): Promise<void> {
  const { config } = options;
  await web.register(sessionsPlugin, {
    secret: config.sessionSecret,
    secure: config.cookieSecure,
    idleSeconds: config.sessionIdleSeconds,
  });
  await web.register(webPlugin, {
    secure: config.cookieSecure,
    csrfKey: config.sessionSecret,
    uploadLimitBytes: config.uploadLimitBytes,
    cacheTemplates: config.nodeEnv === 'production',
  });
  // Deny by default: every page needs a signed-in user unless it declares `config.access`, and
  // every form post needs its CSRF token, whoever sends it.
  web.addHook('preHandler', async (request, reply) => {
    if (request.is404 || request.routeOptions.config.access !== undefined) return;
    return requireViewer(request, reply);
  });
  web.addHook('preHandler', (request, reply, done) => {
    if (request.is404 || SAFE_METHODS.has(request.method)) {
      done();
      return;
    }
    web.csrfProtection(request, reply, done);
  });
  await web.register(browsePages);
  await web.register(authPages, { secureCookies: config.cookieSecure });
  await web.register(articlePages);
  await web.register(settingsPages, { uploadLimitBytes: config.uploadLimitBytes });
  await web.register(adminPages, { prefix: '/admin' });
}
