// The raw-piscina reference of the thread dispatch measurement (bench/scenarios/isolation.mjs): the same trivial work as trivialThreadTask.
module.exports = (email) => void email.length;
