// The bullmq subpath through a typed import: it type-checks and loads, with named exports.
import * as bull from 'express-background-tasks/bullmq';

console.log('bullmq subpath:', Object.keys(bull).join(', '));
