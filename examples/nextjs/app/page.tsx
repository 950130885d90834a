import { Chat } from './Chat';

// Read at request time, so one build serves any environment: BFF_URL is where the chat service runs.
export const dynamic = 'force-dynamic';

export default function Page() {
  return <Chat baseUrl={process.env.BFF_URL ?? 'http://localhost:8080'} />;
}
