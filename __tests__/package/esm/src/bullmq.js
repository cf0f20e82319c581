// The bullmq subpath through import(): it resolves inside the installed package and has named exports.
const bull = await import('express-background-tasks/bullmq');
const resolved = import.meta.resolve('express-background-tasks/bullmq');

const names = Object.keys(bull).filter((name) => name !== 'default' && name !== '__esModule');
if (names.length === 0) throw new Error('no named exports from express-background-tasks/bullmq');
console.log('bullmq subpath:', String(resolved).replace(/^.*node_modules/, 'node_modules'), names.join(', '));
