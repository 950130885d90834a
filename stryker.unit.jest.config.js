const base = require('./jest.config.js');
module.exports = { ...base, roots: ['<rootDir>/test/config', '<rootDir>/test/session', '<rootDir>/test/genesys', '<rootDir>/test/store'] };
