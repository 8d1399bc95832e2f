export {
  type FoundationModelFilter,
  type FoundationModelInput,
  foundationModelArn,
  isOnDemand,
  isProfileOnly,
  ModelCatalogue,
  type ModelCatalogueOptions,
  modelIdentifierMessage,
  profileGeographyOf,
} from './catalogue.js';
export { CATALOGUE_AS_OF, CATALOGUE_SOURCE, FOUNDATION_MODELS } from './foundation-models.js';
export type {
  FoundationModelEntry,
  InferenceProfileEntry,
  InferenceType,
  ModelCustomization,
  ModelLifecycleStatus,
  ModelModality,
  ModelResolution,
  ProfileGeography,
} from './types.js';
