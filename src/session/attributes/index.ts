/**
 * Custom attributes and verified identity tokens, whose keys are locked.
 */
export { IdentityVerifier } from './identityVerifier';
export {
  applyBrowserChange,
  checkBudget,
  identityReservedKeys,
  lockIdentity,
  parseAttributeInput,
  refuseOtherCustomer,
  refuseReservedKeys,
  copyAttributes,
  setAttribute,
} from './attributes';
export type { Attributes } from './attributes';
