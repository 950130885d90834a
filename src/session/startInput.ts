import type { StartInput } from '../domain/api';
import { AppError } from '../domain/errors';
import {
  type IdentityVerifier,
  copyAttributes,
  parseAttributeInput,
  refuseReservedKeys,
  setAttribute,
  type Attributes,
} from './attributes';
import type { ProcessConfig } from '../config/schema';

type AttributeKeys = ProcessConfig['attributeKeys'];

/** Attributes from a start body's well-known fields and `attributes`, and the identity token's claims. */
export async function givenAttributes(
  input: StartInput,
  keys: AttributeKeys,
  reserved: ReadonlySet<string>,
  identity: IdentityVerifier | undefined,
): Promise<{ browser: Attributes; identity: Attributes }> {
  const browser = copyAttributes(parseAttributeInput(input.attributes ?? {}, false) as Attributes);
  const named: [keyof AttributeKeys, string | undefined][] = [
    ['firstName', input.firstName],
    ['lastName', input.lastName],
    ['email', input.email],
    ['phone', input.phone],
  ];
  for (const [name, value] of named) if (value !== undefined) setAttribute(browser, keys[name], value);
  refuseReservedKeys(browser, reserved);
  if (input.identityToken === undefined) return { browser, identity: {} };
  if (!identity) {
    throw new AppError(
      'identity_invalid',
      'This service is not configured to verify identity tokens (IDENTITY_JWT_SECRET or IDENTITY_JWKS_URL).',
    );
  }
  return { browser, identity: await identity.verify(input.identityToken) };
}
