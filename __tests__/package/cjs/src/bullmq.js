// The bullmq subpath through require(): it resolves inside the installed package and has named exports.
const bull = require('express-background-tasks/bullmq');
const resolved = require.resolve('express-background-tasks/bullmq');

const names = Object.keys(bull).filter((name) => name !== 'default' && name !== '__esModule');
if (names.length === 0) throw new Error('no named exports from express-background-tasks/bullmq');
console.log('bullmq subpath:', String(resolved).replace(/^.*node_modules/, 'node_modules'), names.join(', '));
