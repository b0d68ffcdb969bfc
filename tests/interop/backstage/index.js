'use strict';
// A real TypeScript Backstage backend for tests/interop: Backstage's auth backend
// with the guest provider, and two plugins that face the di_backend plugins.
//
//   GET /api/echo/whoami          who called (service or user credentials)
//   GET /api/caller/call/:plugin  calls <plugin>/whoami with a plugin token, on behalf of
//                                 the incoming user, or as itself when nobody signed in
//
// Run: node index.js --config app-config.yaml
const { createBackend } = require('@backstage/backend-defaults');
const { createBackendPlugin, coreServices } = require('@backstage/backend-plugin-api');
const express = require('express');

function describe(credentials, auth) {
  if (auth.isPrincipal(credentials, 'user')) {
    return { type: 'user', subject: credentials.principal.userEntityRef };
  }
  return { type: credentials.principal.type, subject: credentials.principal.subject };
}

const echo = createBackendPlugin({
  pluginId: 'echo',
  register(env) {
    env.registerInit({
      deps: {
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        auth: coreServices.auth,
        userInfo: coreServices.userInfo,
      },
      async init({ httpRouter, httpAuth, auth, userInfo }) {
        const router = express.Router();
        router.get('/whoami', async (req, res, next) => {
          try {
            const credentials = await httpAuth.credentials(req, { allow: ['service', 'user'] });
            const body = describe(credentials, auth);
            if (body.type === 'user') {
              body.ownership = (await userInfo.getUserInfo(credentials)).ownershipEntityRefs;
            }
            res.json(body);
          } catch (error) {
            next(error);
          }
        });
        httpRouter.use(router);
      },
    });
  },
});

const caller = createBackendPlugin({
  pluginId: 'caller',
  register(env) {
    env.registerInit({
      deps: {
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
      },
      async init({ httpRouter, httpAuth, discovery, auth }) {
        const router = express.Router();
        router.get('/call/:pluginId', async (req, res, next) => {
          try {
            const target = req.params.pluginId;
            const incoming = await httpAuth.credentials(req, { allow: ['user', 'none'] });
            const onBehalfOf = auth.isPrincipal(incoming, 'user')
              ? incoming
              : await auth.getOwnServiceCredentials();
            const { token } = await auth.getPluginRequestToken({ onBehalfOf, targetPluginId: target });
            const response = await fetch(`${await discovery.getBaseUrl(target)}/whoami`, {
              headers: { Authorization: `Bearer ${token}` },
              signal: AbortSignal.timeout(5000),
            });
            res.status(response.status).send(await response.text());
          } catch (error) {
            next(error);
          }
        });
        httpRouter.use(router);
        httpRouter.addAuthPolicy({ path: '/call', allow: 'unauthenticated' });
      },
    });
  },
});

const backend = createBackend();
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(echo);
backend.add(caller);
backend.start().catch(error => {
  console.error(error);
  process.exit(1);
});
