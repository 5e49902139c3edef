/** `hearsay run examples/hub-and-spoke/workflow.ts`: the team demo as a workflow module (a runtime config and its input). */
import { team } from './team.js';

export default team;
export const input = { goal: 'a blackboard runtime teams can trust' };
