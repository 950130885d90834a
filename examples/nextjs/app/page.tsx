import { Chat } from './Chat';

// Read at request time, so one build serves any environment: BFF_URL is where the chat service runs.
export const dynamic = 'force-dynamic';

/** `?prechat=on` asks the guest's name and email before the chat starts; `?lang=de` chooses the chat's language. */
export default async function Page({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const { prechat, lang } = await searchParams;
  return <Chat baseUrl={process.env.BFF_URL ?? 'http://localhost:8080'} preChat={prechat === 'on'} lang={lang} />;
}
