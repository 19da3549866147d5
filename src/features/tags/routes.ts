import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';

const TagsResponse = Type.Object({ tags: Type.Array(Type.String()) });

/** The tags in use (RealWorld "tags" endpoint). */
export default function tagsRoutes(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { tags } = app.repositories;

  app.get('/tags', {
    config: { access: 'public' },
    schema: { tags: ['Tags'], summary: 'Tags in use, alphabetically', response: { 200: TagsResponse } },
  }, async () => ({ tags: [...(await tags.inUse())] }));
}
