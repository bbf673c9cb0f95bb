// HS256 JWTs for tests (the same format rt-edge verifies).
import crypto from 'node:crypto';

const b64u = (b) => Buffer.from(b).toString('base64url');

export function signJwt(claims, secret) {
    const head = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64u(JSON.stringify(claims));
    const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
}

export function demoToken(secret, { sub = 'u-1', tenant = 'acme', ttlS = 3600 } = {}) {
    const now = Math.floor(Date.now() / 1000);
    return signJwt({ sub, org_id: tenant, iat: now, exp: now + ttlS }, secret);
}

export function verifyJwt(token, secret) {
    const [h, b, s] = String(token).split('.');
    if (!s) return null;
    const want = crypto.createHmac('sha256', secret).update(`${h}.${b}`).digest('base64url');
    if (want.length !== s.length || !crypto.timingSafeEqual(Buffer.from(want), Buffer.from(s)))
        return null;
    const claims = JSON.parse(Buffer.from(b, 'base64url').toString());
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return null;
    return claims;
}
