export {
  type AnthropicModelOptions,
  anthropicModel,
  defaultAnthropicModel,
} from './model/anthropic-model.js';
