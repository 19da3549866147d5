import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ConfigWithSecrets } from '../../secrets.ts';
import sessionsPlugin from '../../plugins/external/sessions.ts';
import webPlugin from '../../plugins/external/web-forms.ts';
import { requireViewer } from './support.ts';

/** Methods that change nothing, so need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * What every web page's scope has (routes.ts registers it first in that scope): sessions, CSRF,
 * forms, templates and HTML errors, and the deny-by-default rules. The JSON API is untouched.
 */
export default fp(async function webScope(web: FastifyInstance, options: { config: ConfigWithSecrets }): Promise<void> {
  const { config } = options;
  await web.register(sessionsPlugin, {
    secrets: [config.sessionSecret, ...config.sessionPreviousSecrets],
    secure: config.cookieSecure,
    idleSeconds: config.sessionIdleSeconds,
  });
  await web.register(webPlugin, {
    secure: config.cookieSecure,
    csrfKey: config.sessionSecret,
    uploadLimitBytes: config.uploadLimitBytes,
    cacheTemplates: config.nodeEnv === 'production',
  });
  // Deny by default: every page needs a signed-in user unless it is declared 'public' or
  // 'optional' in `config.access` ('admin' pages send a visitor to sign in first, then refuse a
  // signed-in non-admin with 403), and every form post needs its CSRF token, whoever sends it.
  web.addHook('preHandler', async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (request.is404 || access === 'public' || access === 'optional') return;
    return requireViewer(request, reply);
  });
  web.addHook('preHandler', (request, reply, done) => {
    if (request.is404 || SAFE_METHODS.has(request.method)) {
      done();
      return;
    }
    web.csrfProtection(request, reply, done);
  });
}, { name: 'web-scope' });
