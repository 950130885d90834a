import nock from 'nock';

// Tests never reach the internet; loopback servers (the app, the simulator) are allowed.
nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);
