import type { ReactNode } from 'react';
import '@genesys-bff/client/styles.css';
import './globals.css';

export const metadata = { title: 'Chat · Next.js on the Genesys Cloud Web Messaging BFF', icons: { icon: 'data:,' } };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
