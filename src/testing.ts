export {
  type Script,
  type ScriptedModel,
  type ScriptedTurn,
  scriptedModel,
} from './testing/scripted-model.js';
