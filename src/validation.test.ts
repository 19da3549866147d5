import { describe, expect, it } from 'vitest';
import Type from 'typebox';
import { fieldErrorsFor, validationErrors } from './validation.ts';

const Article = Type.Object({
  article: Type.Object({
    title: Type.String({ minLength: 1, maxLength: 10 }),
    tagList: Type.Optional(Type.Array(Type.String(), { maxItems: 2 })),
    image: Type.Optional(Type.Union([Type.String({ format: 'uri' }), Type.Null()])),
  }),
});

describe('validationErrors', () => {
  it('names the field that is missing or blank with "can\'t be blank"', () => {
    expect(fieldErrorsFor(Article, { article: {} })).toEqual({ title: ["can't be blank"] });
    expect(fieldErrorsFor(Article, { article: { title: '' } })).toEqual({ title: ["can't be blank"] });
  });

  it('says what a value should have been, in plain words', () => {
    expect(fieldErrorsFor(Article, { article: { title: 5 } })).toEqual({ title: ['must be a string'] });
    expect(fieldErrorsFor(Article, { article: { title: 'x'.repeat(11) } })).toEqual({ title: ['is too long (maximum is 10 characters)'] });
    expect(fieldErrorsFor(Article, { article: { title: 't', tagList: ['a', 'b', 'c'] } })).toEqual({ tagList: ['has too many items (maximum is 2)'] });
  });

  it('reports a union by the rule broken, or by the types it allows', () => {
    expect(fieldErrorsFor(Article, { article: { title: 't', image: 'not a url' } })).toEqual({ image: ['must be a URL'] });
    expect(fieldErrorsFor(Article, { article: { title: 't', image: 5 } })).toEqual({ image: ['must be a string or null'] });
  });

  it('is undefined for a valid value', () => {
    expect(fieldErrorsFor(Article, { article: { title: 'ok', tagList: ['a'], image: null } })).toBeUndefined();
  });

  it('falls back to the context, then "body", for an issue at the root', () => {
    expect(validationErrors([{ keyword: 'type', instancePath: '', schemaPath: '#/type', params: { type: 'object' }, message: 'must be object' }], 'querystring')).toEqual({
      querystring: ['must be an object'],
    });
    expect(validationErrors([{ keyword: 'nulCharacter', instancePath: '/user/bio', schemaPath: '#', params: {}, message: 'x' }])).toEqual({
      bio: ['must not contain NUL characters'],
    });
  });
});
