import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { notFound } from '../../errors.ts';
import { errorResponses } from '../../schemas.ts';

const ImageParams = Type.Object({ hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the image, hex' }) });

/** Serves uploaded images by content hash: the name fixes the bytes, so they cache forever. */
export default function imagesRoutes(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { images } = app.repositories;

  app.get('/images/:hash', {
    schema: {
      tags: ['Images'],
      summary: 'An uploaded image (avatar)',
      params: ImageParams,
      response: {
        200: Type.Unsafe<Buffer>({ description: 'The image bytes', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } }),
        ...errorResponses(404, 422),
      },
    },
  }, async (request, reply) => {
    const image = await images.find(request.params.hash);
    if (image === undefined) throw notFound('image');
    return reply
      .type(image.contentType)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(image.data);
  });
}
