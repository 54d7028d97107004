export {
  type FakeAnthropicRequest,
  type FakeAnthropicScript,
  type FakeAnthropicServer,
  type FakeAnthropicTurn,
  startFakeAnthropicServer,
} from './testing/fake-anthropic-server.js';
export {
  type Script,
  type ScriptedModel,
  type ScriptedTurn,
  scriptedModel,
} from './testing/scripted-model.js';
export {
  type ContractTestApi,
  checkpointStoreContract,
  testEnvelope,
  testMessage,
} from './testing/store-contract.js';
export { createTestClock, type TestClock } from './testing/test-clock.js';
